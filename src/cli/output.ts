import { CommanderError } from 'commander';

/**
 * What a command prints: lines for a person, or with --json one JSON object on stdout (and
 * nothing else there: logs go to stderr).
 */
export interface CliOutput {
  readonly json: boolean;
  /** The result: `lines` for a person, `data` as the JSON object. */
  result(lines: string[], data: object): void;
}

export function createOutput(json: boolean): CliOutput {
  return {
    json,
    result(lines, data) {
      process.stdout.write(
        json ? `${JSON.stringify(data)}\n` : lines.map((l) => `${l}\n`).join(''),
      );
    },
  };
}

/** A refusal the command line itself finds (an unknown organisation, pending migrations). */
export class CliFailure extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface CodedError {
  code: string;
  message: string;
  errors?: Record<string, { code: string; message: string }[]>;
}

/**
 * Reports a failed command on stderr (and as `{"error": …}` on stdout with --json) and returns its
 * exit code: 2 for input the services refused (a DomainError: validation, a duplicate, a
 * precondition), 1 for anything else.
 */
export async function reportFailure(error: unknown, out: CliOutput): Promise<number> {
  if (error instanceof CommanderError) throw error;
  // Loaded here, once a command has run: `--help` loads commander only.
  const { DomainError } = await import('../common/errors.js');
  let coded: CodedError;
  let exitCode: number;
  if (error instanceof CliFailure) {
    coded = { code: error.code, message: error.message };
    exitCode = error.exitCode;
  } else if (error instanceof DomainError) {
    coded = { code: error.code, message: error.message, errors: error.errors };
    exitCode = 2;
  } else {
    const message = error instanceof Error ? error.message : String(error);
    coded = { code: 'failed', message };
    exitCode = 1;
  }
  process.stderr.write(`${coded.code}: ${coded.message}\n`);
  for (const [field, problems] of Object.entries(coded.errors ?? {}))
    for (const problem of problems)
      process.stderr.write(`  ${field}: ${problem.code} — ${problem.message}\n`);
  if (out.json) process.stdout.write(`${JSON.stringify({ error: coded })}\n`);
  return exitCode;
}
