/**
 * One spelling per email address, so addresses that look the same are one account: Unicode
 * NFKC (NFC and NFD spellings of "é" agree, fullwidth "ａ" becomes "a"), lower case, trimmed.
 * NFKC runs again after lower-casing, which can leave a string that is not in normal form.
 */
import { badRequest } from '../errors.ts'

/** What the register schema allows, checked again after normalising (NFKC can turn "＠" into "@"). */
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/
const MAX_EMAIL_LENGTH = 254

export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').toLowerCase().normalize('NFKC').trim()
}

/** The normalised address, or a 400 when normalising made it something that is not an address. */
export function canonicalEmail(email: string): string {
  const normalized = normalizeEmail(email)
  if (!EMAIL_SHAPE.test(normalized) || normalized.length > MAX_EMAIL_LENGTH) throw badRequest('not a valid email address')
  return normalized
}
