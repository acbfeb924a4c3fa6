import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { enableLogCapture, recordSecretsOfFetch } from './log-capture.js';

/**
 * «Logs never contain passwords, tokens, invitation tokens, session ids or authorisation codes.»
 *
 * Every spec file that starts the service, in process or as a process of its own (the built
 * service or command line: test/support/service.ts, test/support/cli.ts, a spec's own spawn
 * through `captureChildOutput`), gets this check as its last test (test/support/environment.ts
 * moves it behind the file's own tests). In-process apps log at `trace` into the file's capture;
 * spawned processes log at `trace` to their stdout and stderr, which are captured line by line.
 * The check searches every captured line for every secret the file's requests, answers, mails,
 * browser pages and process environments carried, and for JWTs and raw Cookie/Authorization
 * values. What is logged later, while the file's afterAll hooks shut the apps and processes down,
 * is searched by the environment once the file is done and reported on this same test.
 *
 * Why per file rather than once for the run: Jest runs spec files in parallel workers with no
 * order, so a run-wide check would need a runner-level hook and could only report as a crashed
 * suite, not as a test; each file's secrets only ever reach that file's own apps, so file by file
 * covers the whole suite, and each result is an ordinary test in Jest's JSON (`npm test --json`).
 * Files that start no service have no capture and no check.
 */
export const LOG_CHECK = 'log capture';

/** A spec file that starts the service or its command line, in process or not. */
const STARTS_THE_SERVICE = /\bstartTestApp\(|\bstartService\(|\brunCli\b|\bcaptureChildOutput\(/;

const testPath = expect.getState().testPath;
if (testPath && STARTS_THE_SERVICE.test(readFileSync(testPath, 'utf8'))) {
  const capture = enableLogCapture();
  recordSecretsOfFetch();
  describe(LOG_CHECK, () => {
    it('holds no password, token, session cookie, invitation link or authorisation code in any line this file logged', async () => {
      await Promise.allSettled([...capture.recording]);
      // Proof the capture is live: every app and process logs at trace, at least its routes and queries.
      expect(capture.lines.length).toBeGreaterThan(0);
      capture.checkedLines = capture.lines.length;
      expect(capture.findLeaks()).toEqual([]);
    });
  });
}
