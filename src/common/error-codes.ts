import { HttpStatus } from '@nestjs/common';

/**
 * Every `code` an error body of the API may carry, with its HTTP status: the contract clients
 * program against. `DomainError` accepts only these codes, at the status listed; README.md's
 * «Error codes» is generated from this table (`npx tsx tools/error-codes.ts --write`) and
 * tools/error-codes.spec.ts fails when the two disagree or a code in src/ is missing here.
 * Field codes inside `errors` (`too_short`, `unknown_field`, …) are not listed: they belong to
 * `validation_failed`.
 */
// One line a code, so that the table reads as a table (prettier would fold the long ones).
// prettier-ignore
export const ERROR_CODES = {
  // The error contract itself (the exception filter and the validation pipe).
  validation_failed: [HttpStatus.UNPROCESSABLE_ENTITY, 'the input is refused; `errors` says why, per field'],
  bad_request: [HttpStatus.BAD_REQUEST, 'a malformed request (also any other 4xx without a code of its own)'],
  malformed_json: [HttpStatus.BAD_REQUEST, 'the body is not JSON'],
  json_too_deep: [HttpStatus.BAD_REQUEST, 'the JSON body nests too deep'],
  unauthenticated: [HttpStatus.UNAUTHORIZED, 'no session or access token, or one that is no longer valid'],
  forbidden: [HttpStatus.FORBIDDEN, 'the caller may not do this'],
  not_found: [HttpStatus.NOT_FOUND, 'no such route or object'],
  method_not_allowed: [HttpStatus.METHOD_NOT_ALLOWED, 'the route has no such method'],
  payload_too_large: [HttpStatus.PAYLOAD_TOO_LARGE, 'the body is over the size limit'],
  uri_too_long: [HttpStatus.URI_TOO_LONG, 'a path parameter is over 2048 characters'],
  unsupported_media_type: [HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'the API takes only `application/json`'],
  unsupported_charset: [HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'a JSON or form body names a charset other than UTF-8'],
  cross_origin_request: [HttpStatus.FORBIDDEN, 'a cookie request from another origin'],
  conflict: [HttpStatus.CONFLICT, 'a uniqueness rule of the database refused the write'],
  too_many_requests: [HttpStatus.TOO_MANY_REQUESTS, 'a request limit; `Retry-After` says when to try again'],
  internal_error: [HttpStatus.INTERNAL_SERVER_ERROR, 'an unexpected failure; the body carries only a `requestId`'],
  database_unavailable: [HttpStatus.SERVICE_UNAVAILABLE, 'the database does not answer; `Retry-After: 5`'],
  throttle_unavailable: [HttpStatus.SERVICE_UNAVAILABLE, 'the throttling store does not answer; `Retry-After: 5`'],
  not_ready: [HttpStatus.SERVICE_UNAVAILABLE, 'the readiness check: a dependency is down'],

  // Login, sessions, re-authentication.
  invalid_credentials: [HttpStatus.UNAUTHORIZED, 'any failed password login (wrong, unknown, blocked, locked)'],
  reauthentication_required: [HttpStatus.FORBIDDEN, 'the action needs a login within the last 10 minutes'],
  password_required: [HttpStatus.FORBIDDEN, 'moving a verified e-mail needs the password, not an older Госуслуги link'],
  password_changed_concurrently: [HttpStatus.CONFLICT, 'the password changed while this request ran'],
  browser_session_required: [HttpStatus.FORBIDDEN, 'the action takes the session cookie, not an access token'],
  session_not_found: [HttpStatus.NOT_FOUND, 'no such session, or it has ended'],
  user_not_found: [HttpStatus.NOT_FOUND, 'no such account'],
  operator_required: [HttpStatus.FORBIDDEN, 'only a platform operator may do this'],
  own_account: [HttpStatus.CONFLICT, 'an operator acting on their own account'],
  sessions_out_of_reach: [HttpStatus.FORBIDDEN, 'the user also works in organisations outside the caller’s reach'],

  // The second factor: TOTP and passkeys.
  mfa_required: [HttpStatus.UNAUTHORIZED, 'the password was right; the second step follows with the `mfaToken`'],
  mfa_enrolment_required: [HttpStatus.FORBIDDEN, 'the account must enrol a second factor first'],
  mfa_challenge_invalid: [HttpStatus.UNAUTHORIZED, 'the `mfaToken` expired or was tried too often'],
  invalid_mfa_code: [HttpStatus.UNAUTHORIZED, 'a wrong or already used code'],
  mfa_code_required: [HttpStatus.UNAUTHORIZED, 'the account has TOTP: the code is needed with the password'],
  mfa_passkey_required: [HttpStatus.UNAUTHORIZED, 'the account has a passkey: it is needed with the password'],
  mfa_already_enrolled: [HttpStatus.CONFLICT, 'TOTP is already on'],
  mfa_not_enrolled: [HttpStatus.NOT_FOUND, 'TOTP is not on'],
  mfa_enrolment_not_started: [HttpStatus.CONFLICT, 'confirming TOTP before asking for its secret'],
  mfa_enrolment_not_required: [HttpStatus.CONFLICT, 'enrolling in a login step that needs the enrolled factor'],
  mfa_unavailable: [HttpStatus.SERVICE_UNAVAILABLE, 'second factors are not configured (`PERSONAL_DATA_KEY`)'],
  invalid_passkey: [HttpStatus.UNAUTHORIZED, 'the passkey assertion is refused'],
  passkey_registration_failed: [HttpStatus.UNPROCESSABLE_ENTITY, 'the new passkey’s attestation is refused'],
  passkey_already_registered: [HttpStatus.CONFLICT, 'the passkey is already the account’s'],
  passkey_not_found: [HttpStatus.NOT_FOUND, 'no such passkey of the account'],
  passkey_not_enrolled: [HttpStatus.CONFLICT, 'the account has no passkeys'],
  passkey_name_invalid: [HttpStatus.UNPROCESSABLE_ENTITY, 'a passkey name must be 1 to 64 characters'],

  // Registration, e-mail verification, recovery.
  login_taken: [HttpStatus.CONFLICT, 'the login is taken'],
  email_taken: [HttpStatus.CONFLICT, 'the address is verified for, or used by, another account'],
  link_invalid: [HttpStatus.GONE, 'an e-mail link that is not ours'],
  link_used: [HttpStatus.GONE, 'an e-mail link used before'],
  link_expired: [HttpStatus.GONE, 'an e-mail link past its time'],
  link_superseded: [HttpStatus.GONE, 'an e-mail link replaced by a newer one'],
  verification_limit: [HttpStatus.TOO_MANY_REQUESTS, 'too many verification e-mails in the last hour'],
  nothing_to_verify: [HttpStatus.CONFLICT, 'no address is waiting for verification'],

  // Госуслуги.
  identity_linked_elsewhere: [HttpStatus.CONFLICT, 'the Госуслуги profile is linked to another account'],
  already_linked: [HttpStatus.CONFLICT, 'the account has another Госуслуги profile linked'],
  last_login_method: [HttpStatus.CONFLICT, 'unlinking would leave the account no way to log in'],
  not_linked: [HttpStatus.NOT_FOUND, 'no Госуслуги profile is linked'],
  gosuslugi_refresh_unavailable: [HttpStatus.CONFLICT, 'no stored Госуслуги access to refresh the data with'],
  gosuslugi_login_required: [HttpStatus.CONFLICT, 'Госуслуги refused the stored access: log in through them'],
  gosuslugi_unavailable: [HttpStatus.SERVICE_UNAVAILABLE, 'Госуслуги do not answer'],

  // ПОС: organisations, members, invitations, operators.
  organization_not_found: [HttpStatus.NOT_FOUND, 'no such organisation within the caller’s reach'],
  member_not_found: [HttpStatus.NOT_FOUND, 'no such member within the caller’s reach'],
  role_required: [HttpStatus.FORBIDDEN, 'no role for this section'],
  confirmation_required: [HttpStatus.FORBIDDEN, 'the first-login confirmation is not given yet'],
  wrong_status: [HttpStatus.CONFLICT, 'the member’s status does not allow the action'],
  invitee_not_editable: [HttpStatus.CONFLICT, 'the invitation is already accepted or archived'],
  archive_self: [HttpStatus.CONFLICT, 'an administrator archiving their own account'],
  resend_limit: [HttpStatus.TOO_MANY_REQUESTS, 'too many invitations to one address in the last hour'],
  invitation_daily_limit: [HttpStatus.TOO_MANY_REQUESTS, 'the organisation’s invitations for the day are spent'],
  public_status_authority_only: [HttpStatus.CONFLICT, 'only an authority publishes a connection status'],
  no_official_site: [HttpStatus.CONFLICT, 'the widget check needs the official site’s address'],
  widget_check_limit: [HttpStatus.TOO_MANY_REQUESTS, 'a widget check of the site is already running'],
  invalid_dry_run: [HttpStatus.BAD_REQUEST, 'the import’s `dryRun` is not true or false'],
  import_no_file: [HttpStatus.UNPROCESSABLE_ENTITY, 'the import has no file'],
  import_empty_file: [HttpStatus.UNPROCESSABLE_ENTITY, 'the import file has no data rows'],
  import_bad_header: [HttpStatus.UNPROCESSABLE_ENTITY, 'the import file lacks required columns'],
  import_too_many_rows: [HttpStatus.UNPROCESSABLE_ENTITY, 'the import file has too many rows'],
  import_file_too_large: [HttpStatus.UNPROCESSABLE_ENTITY, 'the import file, or the unpacked XLSX, is too large'],
  import_unreadable_file: [HttpStatus.UNPROCESSABLE_ENTITY, 'the import file is neither CSV nor XLSX'],
  operator_not_found: [HttpStatus.NOT_FOUND, 'no such platform operator'],
  not_an_operator: [HttpStatus.CONFLICT, 'the account exists and is no operator (`--promote` makes it one)'],
  promotion_refused: [HttpStatus.CONFLICT, 'the account has credentials someone else may have set'],
  already_operator: [HttpStatus.CONFLICT, 'the account is already an operator'],
  account_not_active: [HttpStatus.CONFLICT, 'a blocked or archived account cannot become an operator'],
  last_operator: [HttpStatus.CONFLICT, 'removing the last platform operator'],
  operator_self: [HttpStatus.CONFLICT, 'an operator removing their own powers'],

  // The OpenID Provider's registered applications and consents.
  client_not_found: [HttpStatus.NOT_FOUND, 'no such registered application'],
  public_client: [HttpStatus.CONFLICT, 'a public application has no secret'],
  application_not_found: [HttpStatus.NOT_FOUND, 'the application has no access to the account'],
} as const satisfies Record<string, readonly [HttpStatus, string]>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The status `code` is answered with. */
export type StatusOf<C extends ErrorCode> = (typeof ERROR_CODES)[C][0];
