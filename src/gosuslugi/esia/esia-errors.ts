import { OAUTH_ERRORS } from '../provider-client.js';

/**
 * The ЕСИА error codes the public clients know (the catalogue of ofstudio/go-api-epgu's
 * `esia/aas`: 26 codes of the authorization service, 11 of consents), each with a stable code
 * of ours (logs, audit, the page's «Код ошибки») and a Russian sentence for the page. `kind`
 * says how the page treats it: a person who declined is not a failure, an overloaded ЕСИА is
 * «недоступны», everything else is refused.
 */
export interface EsiaError {
  code: string;
  kind: 'cancelled' | 'rejected' | 'unavailable';
  message: string;
}

const rejected = (code: string, message: string): EsiaError => ({
  code,
  kind: 'rejected',
  message,
});

export const ESIA_ERRORS: Readonly<Record<string, EsiaError>> = {
  'ESIA-007002': rejected(
    'esia_certificate_mismatch',
    'Сертификат не соответствует мнемонике системы или не загружен для неё в ЕСИА.',
  ),
  'ESIA-007003': rejected(
    'esia_invalid_request',
    'ЕСИА отклонила запрос: параметр отсутствует, повторён или указан неверно.',
  ),
  'ESIA-007004': {
    code: 'esia_access_denied',
    kind: 'cancelled',
    message: 'Вы отказались от входа на странице Госуслуг.',
  },
  'ESIA-007005': rejected(
    'esia_unauthorized_client',
    'Система не зарегистрирована в ЕСИА или ей не разрешён запрошенный доступ.',
  ),
  'ESIA-007006': rejected(
    'esia_invalid_scope',
    'Запрошенные данные не согласованы для системы в ЕСИА.',
  ),
  'ESIA-007007': {
    code: 'esia_server_error',
    kind: 'unavailable',
    message: 'В ЕСИА произошла внутренняя ошибка.',
  },
  'ESIA-007008': {
    code: 'esia_temporarily_unavailable',
    kind: 'unavailable',
    message: 'ЕСИА перегружена или на ней идут технические работы.',
  },
  'ESIA-007009': rejected(
    'esia_unsupported_response_type',
    'ЕСИА не поддерживает запрошенный способ получения доступа.',
  ),
  'ESIA-007011': rejected(
    'esia_invalid_grant',
    'Код авторизации или маркер обновления недействителен, просрочен или уже использован.',
  ),
  'ESIA-007012': rejected(
    'esia_unsupported_grant_type',
    'ЕСИА не поддерживает запрошенный тип кода авторизации.',
  ),
  'ESIA-007013': rejected('esia_scope_missing', 'В запросе к ЕСИА не указаны запрошенные данные.'),
  'ESIA-007014': rejected(
    'esia_certificate_hash_missing',
    'В запросе к ЕСИА нет хэша сертификата системы.',
  ),
  'ESIA-007015': rejected(
    'esia_invalid_timestamp',
    'ЕСИА отклонила время запроса: проверьте часы сервера.',
  ),
  'ESIA-007019': rejected('esia_permission_missing', 'В ЕСИА нет разрешения на этот доступ.'),
  'ESIA-007023': rejected(
    'esia_redirect_uri_not_registered',
    'Адрес возврата не зарегистрирован для системы в ЕСИА.',
  ),
  'ESIA-007038': rejected('esia_request_unreadable', 'ЕСИА не смогла прочитать параметры запроса.'),
  // PKCE: the code is bound at ЕСИА to the challenge of the round trip it was issued to, so
  // either answer means the code came from a round trip this browser did not start.
  'ESIA-007039': rejected(
    'esia_code_challenge_missing',
    'Код входа выдан Госуслугами для запроса не из этого сеанса входа. Начните вход заново.',
  ),
  'ESIA-007040': rejected(
    'esia_code_verifier_mismatch',
    'Код входа выдан Госуслугами для другого сеанса входа. Начните вход заново в этом браузере.',
  ),
  'ESIA-007046': rejected(
    'esia_second_factor_unavailable',
    'Для входа нужна двухфакторная аутентификация, которая не настроена в учётной записи Госуслуг.',
  ),
  'ESIA-007053': rejected(
    'esia_client_secret_invalid',
    'ЕСИА не приняла подпись запроса: проверьте ключ и сертификат системы.',
  ),
  'ESIA-007055': rejected(
    'esia_account_not_confirmed',
    'Вход возможен только с подтверждённой учётной записью Госуслуг.',
  ),
  'ESIA-007060': rejected('esia_invalid_roles', 'ЕСИА не приняла параметр roles запроса.'),
  'ESIA-007061': rejected('esia_invalid_obj_type', 'ЕСИА не приняла параметр obj_type запроса.'),
  'ESIA-007062': rejected(
    'esia_invalid_user_type',
    'Тип или роль пользователя в запросе к ЕСИА указаны неверно.',
  ),
  'ESIA-007194': rejected(
    'esia_not_organization_member',
    'Запрошен доступ от имени организации, сотрудником которой вы не являетесь.',
  ),
  'ESIA-008010': rejected(
    'esia_client_authentication_failed',
    'ЕСИА не смогла аутентифицировать систему.',
  ),
  'ESIA-036700': rejected('esia_consent_type_missing', 'Не указан тип согласия.'),
  'ESIA-036701': rejected('esia_consent_type_unknown', 'Тип согласия не найден.'),
  'ESIA-036702': rejected(
    'esia_consent_scope_missing',
    'Не указаны данные, обязательные для этого типа согласия.',
  ),
  'ESIA-036703': rejected(
    'esia_consent_scope_exceeded',
    'Запрошенные данные выходят за рамки типа согласия.',
  ),
  'ESIA-036704': rejected(
    'esia_consent_scope_forbidden',
    'Для этого типа согласия нельзя указывать запрашиваемые данные.',
  ),
  'ESIA-036705': rejected(
    'esia_consent_action_missing',
    'В согласии не указано ни одного действия.',
  ),
  'ESIA-036706': rejected(
    'esia_consent_action_unknown',
    'Указанное в согласии действие не существует.',
  ),
  'ESIA-036707': rejected('esia_consent_purpose_missing', 'В согласии не указано ни одной цели.'),
  'ESIA-036716': rejected('esia_consent_expiry_invalid', 'Указан неверный срок действия согласия.'),
  'ESIA-036726': rejected(
    'esia_consent_purpose_unknown',
    'Указанная в согласии цель не существует.',
  ),
  'ESIA-036727': rejected(
    'esia_consent_purpose_single',
    'В согласии должна быть указана одна цель.',
  ),
};

/** The ESIA-NNNNNN code in an error description, if any. */
export function esiaErrorCode(description: string | null | undefined): string | null {
  const match = /ESIA-\d{6}/.exec(description ?? '');
  return match ? match[0] : null;
}

const OAUTH_UNAVAILABLE = new Set(['server_error', 'temporarily_unavailable']);

/**
 * What an ЕСИА error means for us: the catalogued entry; for an unknown ESIA code a refusal that
 * still shows the code (so an operator can look it up); without one, the OAuth error if RFC 6749
 * names it, a server error or 5xx as «недоступны», anything else `esia_error`. The provider's
 * own words never become our code.
 */
export function describeEsiaError(esiaCode: string | null, oauthError: string): EsiaError {
  if (esiaCode && ESIA_ERRORS[esiaCode]) return ESIA_ERRORS[esiaCode];
  if (!esiaCode && oauthError === 'access_denied') return ESIA_ERRORS['ESIA-007004'];
  const message = `ЕСИА вернула ошибку${esiaCode ? ` ${esiaCode}` : ''}. Попробуйте позже или обратитесь в поддержку.`;
  if (esiaCode) return rejected('esia_error', message);
  if (OAUTH_UNAVAILABLE.has(oauthError) || /^http_5\d\d$/.test(oauthError))
    return { code: 'esia_unavailable', kind: 'unavailable', message };
  return rejected(
    OAUTH_ERRORS.has(oauthError) ? `esia_oauth_${oauthError}` : 'esia_error',
    message,
  );
}

/** The sentence for the page, with the ЕСИА code in brackets for whoever reads it to support. */
export function esiaErrorMessage(esiaCode: string | null, oauthError = 'invalid_request'): string {
  const { message } = describeEsiaError(esiaCode, oauthError);
  return esiaCode && ESIA_ERRORS[esiaCode]
    ? `${message.replace(/\.$/, '')} (${esiaCode}).`
    : message;
}
