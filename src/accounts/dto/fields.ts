import { normalizePhone } from '../../identity/normalize.js';

export const LOGIN_PATTERN = /^[A-Za-z0-9._-]{3,64}$/;
export const PHONE_PATTERN = /^\+[1-9]\d{9,14}$/;

export const trimmed = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

/** Normalises a phone number; leaves anything unparseable as it was for the validator to reject. */
export const toPhone = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? (normalizePhone(value) ?? value) : value;
