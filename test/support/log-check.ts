import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { enableLogCapture } from './log-capture.js';

/**
 * «Logs never contain passwords, tokens, invitation tokens, session ids or authorisation codes.»
 *
 * Every spec file of the integration and abuse projects that starts the service in process gets
 * this check as its last test (test/support/environment.ts moves it behind the file's own tests).
 * The file's apps log at `trace` into the file's capture; the check searches every captured line
 * for every secret the file's requests, answers and mails carried, and for JWTs and raw
 * Cookie/Authorization values. What the apps log later, while the file's afterAll hooks shut them
 * down, is searched by the environment once the file is done and reported on this same test.
 *
 * Why per file rather than once for the run: Jest runs spec files in parallel workers with no
 * order, so a run-wide check would need a runner-level hook and could only report as a crashed
 * suite, not as a test; each file's secrets only ever reach that file's own apps, so file by file
 * covers the whole suite, and each result is an ordinary test in Jest's JSON (`npm test --json`).
 * Files that do not start the service in process (they spawn the built one) have no capture and
 * no check.
 */
export const LOG_CHECK = 'log capture';

const testPath = expect.getState().testPath;
if (testPath && readFileSync(testPath, 'utf8').includes('startTestApp(')) {
  const capture = enableLogCapture();
  describe(LOG_CHECK, () => {
    it('holds no password, token, session cookie, invitation link or authorisation code in any line this file logged', () => {
      // Proof the capture is live: every app logs at trace, at least its routes and queries.
      expect(capture.lines.length).toBeGreaterThan(0);
      capture.checkedLines = capture.lines.length;
      expect(capture.findLeaks()).toEqual([]);
    });
  });
}
