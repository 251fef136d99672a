/**
 * One account per email address whatever its Unicode spelling: NFC and NFD, fullwidth forms and
 * letter case all name the same account (NFKC + lower case + trim, at register and login).
 */
import { describe, expect, it } from 'vitest'
import type { SessionResponse } from '../../shared/api.ts'
import { expectError, useServer } from './context.ts'

const PASSWORD = 'correct horse battery'
const ctx = useServer()

let counter = 0
/** A local part no other test uses, in plain ASCII. */
function unique(prefix: string): string {
  return `${prefix}${process.pid}x${counter++}`
}

function register(email: string) {
  return ctx.api<SessionResponse>('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Look Alike' } })
}

function login(email: string) {
  return ctx.api<SessionResponse>('POST', '/auth/login', { body: { email, password: PASSWORD } })
}

/** ASCII letters and digits → their fullwidth forms (U+FF01 block). */
function fullwidth(text: string): string {
  return text.replace(/[A-Za-z0-9]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0))
}

describe('email spellings', () => {
  it('treats NFC and NFD spellings of é as one account', async () => {
    const local = unique('jos')
    const nfc = `${local}\u00e9@example.test`
    const nfd = `${local}e\u0301@example.test`
    expect(nfc).not.toBe(nfd)
    const first = await register(nfc)
    expect(first.status).toBe(201)
    expectError(await register(nfd), 409, 'conflict')
    const viaNfd = await login(nfd)
    expect(viaNfd.status).toBe(200)
    expect(viaNfd.body.user.id).toBe(first.body.user.id)
    expect(first.body.user.email).toBe(nfc.normalize('NFKC'))
  })

  it('treats fullwidth and upper-case spellings as the plain address', async () => {
    const local = unique('alice')
    const plain = `${local}@example.com`
    const wide = fullwidth(local) + '@example.com'
    expect(wide).toMatch(/^ａｌｉｃｅ/)
    const first = await register(wide)
    expect(first.status).toBe(201)
    expect(first.body.user.email).toBe(plain)
    expectError(await register(plain), 409, 'conflict')
    expectError(await register(`  ${fullwidth(local.toUpperCase())}@EXAMPLE.COM `), 409, 'conflict')
    for (const variant of [plain, wide, plain.toUpperCase()]) {
      const reply = await login(variant)
      expect(reply.status, variant).toBe(200)
      expect(reply.body.user.id).toBe(first.body.user.id)
    }
  })

  it('refuses an address that normalising turns into something else than an address (400)', async () => {
    // The fullwidth at sign becomes a second "@".
    expectError(await register(`${unique('two')}\uff20ats@example.test`), 400, 'bad_request')
  })
})
