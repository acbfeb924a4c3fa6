/**
 * Whether an account administers an organisation (ЛКО), for the second-factor policy
 * (MFA_REQUIRED_FOR_ADMINS): implemented by the ПОС feature, so sessions do not depend on it.
 */
export interface StaffRolesSource {
  isAdministrator(userId: string): Promise<boolean>;
}

export const STAFF_ROLES = Symbol('STAFF_ROLES');
