import { HttpStatus } from '@nestjs/common';
import { DomainError } from '../common/errors.js';

/** The provider key of Госуслуги identities. */
export const GOSUSLUGI_PROVIDER = 'gosuslugi';

export const GosuslugiErrors = {
  refreshUnavailable: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'gosuslugi_refresh_unavailable',
      'Сохранённого доступа к Госуслугам нет: чтобы обновить данные, войдите через Госуслуги.',
    ),
  loginRequired: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'gosuslugi_login_required',
      'Госуслуги не приняли сохранённый доступ. Чтобы обновить данные, войдите через Госуслуги.',
    ),
  unavailable: () =>
    new DomainError(
      HttpStatus.SERVICE_UNAVAILABLE,
      'gosuslugi_unavailable',
      'Госуслуги сейчас недоступны. Попробуйте позже.',
    ),
};

interface PageText {
  status: number;
  title: string;
  paragraphs: string[];
}

/** Russian texts of the Госуслуги pages, in one place. */
export const GOSUSLUGI_PAGES = {
  invalidTransaction: {
    status: 400,
    title: 'Сеанс входа через Госуслуги не найден',
    paragraphs: [
      'Ссылка устарела, уже была использована или открыта в другом браузере.',
      'Начните вход или привязку Госуслуг заново.',
    ],
  },
  cancelled: {
    status: 400,
    title: 'Вход отменён',
    paragraphs: ['Вы отказались от входа на странице Госуслуг. Ничего не изменилось.'],
  },
  rejected: {
    status: 400,
    title: 'Госуслуги вернули ответ, который не прошёл проверку',
    paragraphs: [
      'Из соображений безопасности вход не выполнен и ничего не изменилось. Попробуйте ещё раз.',
    ],
  },
  unavailable: {
    status: 502,
    title: 'Госуслуги сейчас недоступны',
    paragraphs: ['Не удалось связаться с Госуслугами. Попробуйте позже.'],
  },
  notLinked: {
    status: 403,
    title: 'Профиль Госуслуг не привязан к учётной записи',
    paragraphs: [
      'Войти через Госуслуги можно только в учётную запись, к которой привязан этот профиль.',
      'Войдите по логину и паролю, откройте «Личный кабинет» и нажмите «Связать с Госуслугами».',
    ],
  },
  accountUnavailable: {
    status: 403,
    title: 'Вход невозможен',
    paragraphs: ['Учётная запись заблокирована или в архиве. Обратитесь к администратору.'],
  },
  linkedElsewhere: {
    status: 409,
    title: 'Профиль Госуслуг уже привязан к другой учётной записи',
    paragraphs: [
      'Один профиль Госуслуг можно привязать только к одной учётной записи. Ничего не изменилось.',
      'Если это ваша другая учётная запись, войдите в неё и отвяжите Госуслуги там.',
    ],
  },
  emailTaken: {
    status: 409,
    title: 'Адрес e-mail уже используется',
    paragraphs: [
      'Адрес из Госуслуг уже подтверждён для другой учётной записи. Ничего не изменилось.',
      'Привяжите Госуслуги ещё раз, не отмечая адрес, или укажите другой адрес в «Личном кабинете».',
    ],
  },
  alreadyLinked: {
    status: 409,
    title: 'К учётной записи уже привязан другой профиль Госуслуг',
    paragraphs: ['Сначала отвяжите текущий профиль в «Личном кабинете». Ничего не изменилось.'],
  },
  invitationUsed: {
    status: 410,
    title: 'Приглашение уже использовано',
    paragraphs: [
      'По этой ссылке уже подтвердили регистрацию. Войдите через Госуслуги на странице входа.',
    ],
  },
  invitationExpired: {
    status: 410,
    title: 'Срок действия приглашения истёк',
    paragraphs: [
      'Попросите администратора личного кабинета организации отправить приглашение повторно.',
    ],
  },
  invitationRevoked: {
    status: 410,
    title: 'Приглашение отозвано',
    paragraphs: [
      'Администратор отправил новое приглашение или убрал учётную запись в архив. Используйте ссылку из последнего письма.',
    ],
  },
  invitationUnknown: {
    status: 404,
    title: 'Приглашение не найдено',
    paragraphs: ['Проверьте, что ссылка скопирована из письма полностью.'],
  },
  alreadyMember: {
    status: 409,
    title: 'Вы уже состоите в этой организации',
    paragraphs: [
      'Ваша учётная запись Госуслуг уже связана с другой учётной записью этой организации.',
    ],
  },
  crossSite: {
    status: 403,
    title: 'Привязка начата с чужого сайта',
    paragraphs: [
      'Привязать Госуслуги можно только из «Личного кабинета» этого сервиса. Ничего не изменилось.',
    ],
  },
  sessionEnded: {
    status: 401,
    title: 'Сеанс завершён',
    paragraphs: [
      'Пока вы были на Госуслугах, сеанс в учётной записи завершился. Войдите снова и повторите привязку.',
    ],
  },
} satisfies Record<string, PageText>;

export type GosuslugiPage = keyof typeof GOSUSLUGI_PAGES;
