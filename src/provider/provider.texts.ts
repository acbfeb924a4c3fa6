/** Russian texts of the OpenID Provider's pages and refusals, in one place. */
export const PROVIDER_TEXTS = {
  errorTitle: 'Вход в приложение не удался',
  consentUnsupported:
    'Это приложение не отмечено как приложение платформы, а согласие на передачу данных сторонним приложениям пока не поддерживается',
  returningTitle: 'Возвращаемся в приложение…',
  continue: 'Продолжить',
  interactionExpired:
    'Время на вход истекло или вход начат в другом браузере. Вернитесь в приложение и начните вход снова.',
};
