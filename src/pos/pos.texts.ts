import { HttpStatus } from '@nestjs/common';
import { DomainError, russianPlural, waitInWords } from '../common/errors.js';

const PROMOTION_RISKS: Record<string, string> = {
  linked_identity: 'к ней привязан профиль Госуслуг',
  unverified_email: 'у неё нет подтверждённого адреса e-mail',
  recent_password: 'пароль задан меньше суток назад',
};

function promotionRisks(reasons: string[]): string {
  return reasons.map((reason) => PROMOTION_RISKS[reason] ?? reason).join('; ');
}

/** Russian texts and stable error codes of the ПОС part, in one place. */
export const PosErrors = {
  notOperator: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'operator_required',
      'Действие доступно только оператору платформы',
    ),
  notAnOperator: (login: string) =>
    new DomainError(
      HttpStatus.CONFLICT,
      'not_an_operator',
      `Учётная запись «${login}» уже есть и не является оператором: добавьте --promote, если её действительно нужно сделать оператором`,
    ),
  promotionRefused: (login: string, reasons: string[]) =>
    new DomainError(
      HttpStatus.CONFLICT,
      'promotion_refused',
      `Учётная запись «${login}» не сделана оператором: ${promotionRisks(reasons)}. Её мог заранее зарегистрировать кто-то другой. Добавьте --reset-credentials: будут удалены привязки, пароль, e-mail и сеансы.`,
      undefined,
    ),
  /** The same refusal on the operator's page, where there is no --reset-credentials. */
  promotionRefusedOnPage: (login: string, reasons: string[]) =>
    new DomainError(
      HttpStatus.CONFLICT,
      'promotion_refused',
      `Учётная запись «${login}» не сделана оператором: ${promotionRisks(reasons)}. Её мог заранее зарегистрировать кто-то другой. Если это учётная запись вашего сотрудника, сделайте её оператором из командной строки: operator:create --promote --reset-credentials.`,
    ),
  alreadyOperator: (login: string) =>
    new DomainError(
      HttpStatus.CONFLICT,
      'already_operator',
      `Учётная запись «${login}» уже является оператором платформы`,
    ),
  accountNotActive: (login: string) =>
    new DomainError(
      HttpStatus.CONFLICT,
      'account_not_active',
      `Учётная запись «${login}» заблокирована или в архиве: оператором её сделать нельзя`,
    ),
  lastOperator: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'last_operator',
      'Это последний оператор платформы: сначала добавьте другого',
    ),
  operatorSelf: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'operator_self',
      'Собственные полномочия оператора снимает другой оператор',
    ),
  operatorNotFound: () =>
    new DomainError(HttpStatus.NOT_FOUND, 'operator_not_found', 'Оператор не найден'),
  moveIntoOwnSubtree: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'validation_failed',
      'Проверьте введённые данные',
      {
        parentId: [
          {
            code: 'own_subtree',
            message: 'Нельзя перенести организацию в неё саму или в её подведомственное учреждение',
          },
        ],
      },
    ),
  confirmationRequired: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'confirmation_required',
      'Подтвердите подключение: «Мною пройдено обучение» и «Личный кабинет организации готов к работе»',
    ),
  noRole: () =>
    new DomainError(HttpStatus.FORBIDDEN, 'role_required', 'Нет роли для этого раздела'),
  publicStatusAuthorityOnly: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'public_status_authority_only',
      'Публиковать статус подключения может только орган администрации: откройте его ЛКО',
    ),
  organizationNotFound: () =>
    new DomainError(HttpStatus.NOT_FOUND, 'organization_not_found', 'Организация не найдена'),
  memberNotFound: () =>
    new DomainError(HttpStatus.NOT_FOUND, 'member_not_found', 'Учётная запись не найдена'),
  emailTaken: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'email_taken',
      'Этот адрес уже используется другой учётной записью. Для каждой учётной записи нужен отдельный адрес электронной почты.',
      { email: [{ code: 'taken', message: 'Адрес уже используется другой учётной записью' }] },
    ),
  parentRequired: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'validation_failed',
      'Проверьте введённые данные',
      {
        parentId: [
          {
            code: 'institution_needs_parent',
            message: 'Учреждение создаётся под органом администрации',
          },
        ],
      },
    ),
  archiveSelf: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'archive_self',
      'Нельзя перенести в архив собственную учётную запись: это сделает другой администратор',
    ),
  snilsNotRequested: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'validation_failed',
      'Проверьте введённые данные',
      {
        snils: [
          {
            code: 'snils_not_requested',
            message:
              'Сервис не запрашивает СНИЛС у Госуслуг (нет области snils в GOSUSLUGI_SCOPES): приглашение с СНИЛС нельзя было бы принять. Оставьте поле пустым или обратитесь к оператору платформы.',
          },
        ],
      },
    ),
  wrongStatus: (message: string) => new DomainError(HttpStatus.CONFLICT, 'wrong_status', message),
  inviteeNotEditable: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'invitee_not_editable',
      'ФИО, СНИЛС и адрес можно исправить, только пока приглашение не принято: пользователь уже зарегистрирован или учётная запись в архиве',
    ),
  nothingToEdit: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'validation_failed',
      'Проверьте введённые данные',
      {
        email: [{ code: 'nothing_to_change', message: 'Укажите, что исправить' }],
      },
    ),
  /** `waitSeconds`: until the oldest invitation of the hour leaves the window. */
  resendLimit: (limit: number, waitSeconds: number) =>
    new DomainError(
      HttpStatus.TOO_MANY_REQUESTS,
      'resend_limit',
      `Приглашение на этот адрес уже отправлялось ${limit} ${russianPlural(limit, 'раз', 'раза', 'раз')} за последний час. Следующее можно отправить через ${waitInWords(waitSeconds)}.`,
      undefined,
      { retryAfterSeconds: waitSeconds },
    ),
  /**
   * INVITATIONS_PER_ORG_PER_DAY: `left` of the day's `limit` remain and `needed` were asked for;
   * `waitSeconds` until the oldest of the day's invitations leaves the window.
   */
  dailyInvitationLimit: (limit: number, left: number, needed: number, waitSeconds: number) =>
    new DomainError(
      HttpStatus.TOO_MANY_REQUESTS,
      'invitation_daily_limit',
      `За сутки организация может отправить не больше ${limit} ${russianPlural(limit, 'приглашения', 'приглашений', 'приглашений')}. ` +
        (left === 0
          ? `На сегодня они закончились: следующее можно будет отправить через ${waitInWords(waitSeconds)}.`
          : `Осталось ${left}, а нужно ${needed}: разделите список или повторите через ${waitInWords(waitSeconds)}.`) +
        ' Ничего не отправлено.',
      undefined,
      { retryAfterSeconds: waitSeconds },
    ),
  confirmationIncomplete: () =>
    new DomainError(HttpStatus.UNPROCESSABLE_ENTITY, 'validation_failed', 'Отметьте оба пункта', {
      trainingCompleted: [{ code: 'required_true', message: 'Отметьте «Мною пройдено обучение»' }],
      organizationReady: [
        { code: 'required_true', message: 'Отметьте «Личный кабинет организации готов к работе»' },
      ],
    }),
};

export const STATUS_NAMES = {
  invited: 'Приглашен',
  registered: 'Зарегистрирован',
  confirmed: 'Подтвержден',
  archived: 'В архиве',
} as const;

export const KIND_NAMES = { authority: 'Орган администрации', institution: 'Учреждение' } as const;
