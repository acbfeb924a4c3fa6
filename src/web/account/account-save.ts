import { Injectable } from '@nestjs/common';
import { AccountsService } from '../../accounts/accounts.service.js';
import { ChangePasswordDto } from '../../accounts/dto/change-password.dto.js';
import { UpdateProfileDto } from '../../accounts/dto/update-profile.dto.js';
import { checkPassword } from '../../accounts/password-policy.js';
import { type ClientInfo } from '../../common/client-info.js';
import { DomainError, type FieldErrors } from '../../common/errors.js';
import { validatePayload } from '../../common/validation.js';
import { type Session } from '../../sessions/session.entity.js';
import { type AccountFormDto } from '../dto/account-forms.dto.js';
import { type AccountViewState, REAUTHENTICATE_TEXT } from './account-view.js';

/** A Госуслуги login that may not move the verified e-mail (emailChangeRefusal): only the password. */
const PASSWORD_REQUIRED_TEXT =
  'Чтобы заменить или убрать подтверждённый e-mail, подтвердите, что это вы, паролем: выйдите (кнопка «Выйти»), войдите по логину и паролю и сразу повторите. Вход через Госуслуги, привязанные раньше, чем был подтверждён этот адрес, для этого не подходит.';

/** The API's password fields under the names of the page's inputs. */
const PASSWORD_FIELDS: Record<string, string> = {
  newPassword: 'password',
  newPasswordRepeat: 'passwordRepeat',
};

function renameFields(errors: FieldErrors, names: Record<string, string>): FieldErrors {
  return Object.fromEntries(
    Object.entries(errors).map(([field, list]) => [names[field] ?? field, list]),
  );
}

/**
 * «Сохранить» in «Личный кабинет»: phone and e-mail, and the password when its fields are filled
 * in, through the same services and DTOs as the API.
 */
@Injectable()
export class AccountSave {
  constructor(private readonly accounts: AccountsService) {}

  /** Where to go after the change, or the page again with what was refused. */
  async apply(
    session: Session,
    form: AccountFormDto,
    client: ClientInfo,
  ): Promise<string | AccountViewState> {
    const user = session.user;
    const values = { phone: form.phone ?? '', email: form.email ?? '' };
    // Only what the person changed goes to the service; an emptied field removes the value.
    const changes: Record<string, unknown> = {};
    const phone = values.phone.trim();
    const email = values.email.trim();
    if (phone !== (user.phone ?? '')) changes.phone = phone === '' ? null : phone;
    if (email !== (user.pendingEmail ?? user.email ?? ''))
      changes.email = email === '' ? null : email;
    const changingPassword = Boolean(form.currentPassword || form.password || form.passwordRepeat);
    const hadPassword = await this.accounts.hasPassword(user);

    let errors: FieldErrors = {};
    let profile: UpdateProfileDto | undefined;
    try {
      profile = await validatePayload(UpdateProfileDto, changes);
    } catch (error) {
      if (!(error instanceof DomainError) || !error.errors) throw error;
      errors = { ...error.errors };
    }
    if (changingPassword) {
      const change = {
        currentPassword: form.currentPassword ?? '',
        newPassword: form.password ?? '',
        newPasswordRepeat: form.passwordRepeat ?? '',
      };
      if (Object.keys(errors).length > 0) {
        // Report the password's own problems too, without spending a password check on it.
        const violations = checkPassword(change.newPassword, { login: user.login });
        if (violations.length > 0) errors.password = violations;
      } else {
        try {
          await this.accounts.changePassword(
            user,
            session,
            await validatePayload(ChangePasswordDto, change),
            client,
          );
        } catch (error) {
          if (error instanceof DomainError && error.code === 'reauthentication_required') {
            // A first password (no current one to ask for) needs a recent login instead.
            errors = {
              password: [
                {
                  code: error.code,
                  message:
                    'Чтобы задать пароль, войдите через Госуслуги ещё раз (кнопка «Выйти», затем вход) и сразу повторите.',
                },
              ],
            };
          } else {
            if (!(error instanceof DomainError) || !error.errors) throw error;
            errors = renameFields(error.errors, PASSWORD_FIELDS);
          }
        }
      }
    }
    if (Object.keys(errors).length > 0) {
      return {
        status: 422,
        values,
        errors,
        notice: { kind: 'error', text: 'Проверьте поля, отмеченные ниже' },
      };
    }
    if (profile && Object.keys(changes).length > 0) {
      try {
        await this.accounts.updateProfile(user, profile, client, session);
      } catch (error) {
        if (
          !(error instanceof DomainError) ||
          (error.code !== 'reauthentication_required' && error.code !== 'password_required')
        )
          throw error;
        // A new or removed address and the phone need the password (or Госуслуги) again.
        const again = {
          code: error.code,
          message:
            error.code === 'password_required' ? PASSWORD_REQUIRED_TEXT : REAUTHENTICATE_TEXT,
        };
        return {
          status: 403,
          values,
          errors: {
            ...('email' in changes && { email: [again] }),
            // Only the e-mail needs the password itself; the phone was refused along with it.
            ...('phone' in changes && error.code !== 'password_required' && { phone: [again] }),
          },
          notice: { kind: 'error', text: 'Проверьте поля, отмеченные ниже' },
        };
      }
    }
    const notice = changingPassword
      ? hadPassword
        ? 'password_changed'
        : 'password_set'
      : typeof changes.email === 'string'
        ? 'verification_sent'
        : 'saved';
    return `/account?notice=${notice}`;
  }
}
