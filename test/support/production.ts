/** The Госуслуги part of a complete production configuration (a standard OIDC provider). */
export const PRODUCTION_GOSUSLUGI = {
  GOSUSLUGI_PROFILE: 'oidc',
  GOSUSLUGI_ISSUER: 'https://idp.example.ru',
  GOSUSLUGI_CLIENT_ID: 'identity-link',
  GOSUSLUGI_CLIENT_SECRET: 'a-real-secret-from-the-provider',
  // Nothing listens there: production tests send no mail.
  SMTP_URL: 'smtp://127.0.0.1:1',
  // The OpenID Provider's cookie keys, which production requires.
  OIDC_COOKIE_KEYS: 'production-test-cookie-key-of-32-characters',
  // The key second-factor secrets are sealed under, which production requires.
  PERSONAL_DATA_KEY: '0123456789abcdef'.repeat(4),
};
