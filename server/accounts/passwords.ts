/**
 * Password hashing: argon2id at OWASP's recommended parameters (19 MiB, 2 iterations,
 * parallelism 1) via @node-rs/argon2 (prebuilt N-API binaries, no install scripts).
 */
import { hash, verify } from '@node-rs/argon2'

const ARGON2ID = 2 // @node-rs/argon2's Algorithm.Argon2id (a const enum, so spelled out)
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_LIMITS = { min: 8, max: 256 } as const

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS)
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

let dummyHash: Promise<string> | undefined

/** Spends the same time as a real check, so a login cannot tell unknown emails from bad passwords. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword('dummy password for timing equalization')
  await verifyPassword(await dummyHash, password)
  return false
}
