/**
 * The platform operator's command line: `npm run cli -- --help` lists the commands,
 * `npm run cli -- <command> --help` explains one. The program is src/cli/program.ts; each group
 * of commands is a pair of files in src/cli/ (`*.command.ts` the usage, `*.actions.ts` the work,
 * loaded only when the command runs).
 */
import { runCli } from './cli/program.js';

runCli(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
