/** /auth: registration, log-in, tokens (JWT shape, refresh rotation, logout), rate limit, dev secret. */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import type { Config } from '../../server/config.ts'
import type { SessionResponse } from '../../shared/api.ts'
import { injectApi, registerUser, type Api } from '../helpers/api.ts'
import { startServer, tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import { expectError, uniqueEmail, useServer } from './context.ts'

const PASSWORD = 'correct horse battery'

function decodePart(part: string | undefined): Record<string, unknown> {
  if (part === undefined) throw new Error('missing JWT part')
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** An access token as the server would issue it, with chosen times and secret. */
function sign(config: Pick<Config, 'jwtIssuer' | 'jwtAudience'>, claims: { sub: string; iat: number; exp: number }, secret: string): Promise<string> {
  return new SignJWT({ name: 'Signed', typ: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(config.jwtIssuer)
    .setAudience(config.jwtAudience)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(secret))
}

function register(api: Api, body: Record<string, unknown>) {
  return api<SessionResponse>('POST', '/auth/register', { body })
}

describe('auth', () => {
  const ctx = useServer()

  describe('POST /auth/register', () => {
    it('creates the account and returns the user with a token pair', async () => {
      const email = uniqueEmail('Mixed.Case').replace('example.test', 'Example.TEST')
      const reply = await register(ctx.api, { email, password: PASSWORD, name: 'Ada Lovelace' })
      expect(reply.status).toBe(201)
      expect(reply.body.user).toEqual({ id: expect.any(String), email: email.toLowerCase(), name: 'Ada Lovelace', createdAt: expect.any(Number) })
      expect(reply.body.user.email).not.toMatch(/[A-Z]/)
      expect(reply.body.accessToken.split('.')).toHaveLength(3)
      expect(reply.body.refreshToken.length).toBeGreaterThanOrEqual(32)
      expect(reply.body.refreshToken).not.toBe(reply.body.accessToken)
      expect(reply.body.expiresIn).toBe(ctx.server.config.accessTokenTtlSec)
    })

    it('trims the display name', async () => {
      const reply = await register(ctx.api, { email: uniqueEmail(), password: PASSWORD, name: '  Grace Hopper  ' })
      expect(reply.status).toBe(201)
      expect(reply.body.user.name).toBe('Grace Hopper')
    })

    it('rejects an email already registered in another letter case with 409 conflict', async () => {
      const email = uniqueEmail('dup')
      expect((await register(ctx.api, { email, password: PASSWORD, name: 'First' })).status).toBe(201)
      const again = await register(ctx.api, { email: email.toUpperCase(), password: PASSWORD, name: 'Second' })
      expectError(again, 409, 'conflict')
      expect((await ctx.server.app.storage.users.byEmail(email))?.name).toBe('First')
    })

    it('rejects a password shorter than 8 characters with 400', async () => {
      expectError(await register(ctx.api, { email: uniqueEmail(), password: '1234567', name: 'Short' }), 400, 'bad_request')
    })

    it('accepts a password of exactly 8 characters', async () => {
      expect((await register(ctx.api, { email: uniqueEmail(), password: '12345678', name: 'Eight' })).status).toBe(201)
    })

    it('rejects a malformed email with 400', async () => {
      expectError(await register(ctx.api, { email: 'not-an-email', password: PASSWORD, name: 'Bad' }), 400, 'bad_request')
    })

    it('rejects a body without a name with 400', async () => {
      expectError(await register(ctx.api, { email: uniqueEmail(), password: PASSWORD }), 400, 'bad_request')
    })

    it('rejects a blank name with 400', async () => {
      expectError(await register(ctx.api, { email: uniqueEmail(), password: PASSWORD, name: '   ' }), 400, 'bad_request')
    })

    it('rejects a body larger than MAX_BODY_BYTES with 413 payload_too_large', async () => {
      expect(ctx.server.config.maxBodyBytes).toBe(64 * 1024)
      const email = uniqueEmail('big')
      const reply = await register(ctx.api, { email, password: PASSWORD, name: 'x'.repeat(70 * 1024) })
      expectError(reply, 413, 'payload_too_large')
      expect(await ctx.server.app.storage.users.byEmail(email)).toBeNull()
    })
  })

  describe('POST /auth/login', () => {
    it('returns a session for the right password', async () => {
      const user = await registerUser(ctx.api, 'Login')
      const reply = await ctx.api<SessionResponse>('POST', '/auth/login', { body: { email: user.email, password: PASSWORD } })
      expect(reply.status).toBe(200)
      expect(reply.body.user).toMatchObject({ id: user.id, email: user.email, name: 'Login' })
      const me = await ctx.api<{ user: { id: string } }>('GET', '/auth/me', { token: reply.body.accessToken })
      expect(me.body.user.id).toBe(user.id)
    })

    it('accepts the email in another letter case', async () => {
      const user = await registerUser(ctx.api, 'Casey')
      const reply = await ctx.api<SessionResponse>('POST', '/auth/login', { body: { email: user.email.toUpperCase(), password: PASSWORD } })
      expect(reply.status).toBe(200)
      expect(reply.body.user.id).toBe(user.id)
    })

    it('rejects a wrong password with 401', async () => {
      const user = await registerUser(ctx.api, 'Wrong')
      const reply = await ctx.api('POST', '/auth/login', { body: { email: user.email, password: 'not the password' } })
      expectError(reply, 401, 'unauthorized')
    })

    it('rejects an unknown email with 401 and the same message as a wrong password', async () => {
      const user = await registerUser(ctx.api, 'Known')
      const wrongPassword = await ctx.api<{ message: string }>('POST', '/auth/login', { body: { email: user.email, password: 'not the password' } })
      const unknownEmail = await ctx.api<{ message: string }>('POST', '/auth/login', { body: { email: uniqueEmail('nobody'), password: PASSWORD } })
      expectError(unknownEmail, 401, 'unauthorized')
      expect(unknownEmail.body.message).toBe(wrongPassword.body.message)
    })
  })

  describe('GET /auth/me', () => {
    it('returns the user for a valid bearer token', async () => {
      const user = await registerUser(ctx.api, 'Me')
      const reply = await ctx.api<{ user: Record<string, unknown> }>('GET', '/auth/me', { token: user.token })
      expect(reply.status).toBe(200)
      expect(reply.body.user).toEqual({ id: user.id, email: user.email, name: 'Me', createdAt: expect.any(Number) })
    })

    it('answers 401 without an Authorization header', async () => {
      expectError(await ctx.api('GET', '/auth/me'), 401, 'unauthorized')
    })

    it('answers 401 for a garbage token', async () => {
      expectError(await ctx.api('GET', '/auth/me', { token: 'garbage.token.here' }), 401, 'unauthorized')
    })

    it('answers 401 for an expired access token', async () => {
      const user = await registerUser(ctx.api, 'Expired')
      const now = Math.floor(Date.now() / 1000)
      const token = await sign(ctx.server.config, { sub: user.id, iat: now - 1000, exp: now - 10 }, TEST_JWT_SECRET)
      expectError(await ctx.api('GET', '/auth/me', { token }), 401, 'unauthorized')
    })

    it('answers 401 for an access token signed with another secret', async () => {
      const user = await registerUser(ctx.api, 'Forged')
      const now = Math.floor(Date.now() / 1000)
      const token = await sign(ctx.server.config, { sub: user.id, iat: now, exp: now + 300 }, 'another-secret-another-secret-0123456789')
      expectError(await ctx.api('GET', '/auth/me', { token }), 401, 'unauthorized')
    })

    it('accepts a token signed the same way with the server secret (control for the two above)', async () => {
      const user = await registerUser(ctx.api, 'Control')
      const now = Math.floor(Date.now() / 1000)
      const token = await sign(ctx.server.config, { sub: user.id, iat: now, exp: now + 300 }, TEST_JWT_SECRET)
      const me = await ctx.api<{ user: { id: string } }>('GET', '/auth/me', { token })
      expect(me.status).toBe(200)
      expect(me.body.user.id).toBe(user.id)
    })

    it('answers 401 for a refresh token used as a bearer token', async () => {
      const user = await registerUser(ctx.api, 'Refresher')
      expectError(await ctx.api('GET', '/auth/me', { token: user.refreshToken }), 401, 'unauthorized')
    })
  })

  describe('POST /auth/refresh and /auth/logout', () => {
    it('issues a new working token pair', async () => {
      const user = await registerUser(ctx.api, 'Rotate')
      const reply = await ctx.api<SessionResponse>('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })
      expect(reply.status).toBe(200)
      expect(reply.body.user.id).toBe(user.id)
      expect(reply.body.refreshToken).not.toBe(user.refreshToken)
      const me = await ctx.api<{ user: { id: string } }>('GET', '/auth/me', { token: reply.body.accessToken })
      expect(me.status).toBe(200)
      expect(me.body.user.id).toBe(user.id)
      const next = await ctx.api<SessionResponse>('POST', '/auth/refresh', { body: { refreshToken: reply.body.refreshToken } })
      expect(next.status).toBe(200)
      expect(next.body.user.id).toBe(user.id)
    })

    it('rejects a refresh token that was already used (rotation) with 401', async () => {
      const user = await registerUser(ctx.api, 'Reuse')
      expect((await ctx.api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })).status).toBe(200)
      expectError(await ctx.api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'unauthorized')
    })

    it('redeems a refresh token only once when it is used concurrently', async () => {
      const user = await registerUser(ctx.api, 'Racer')
      const replies = await Promise.all(Array.from({ length: 5 }, () => ctx.api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })))
      expect(replies.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401])
    })

    it('rejects an unknown refresh token with 401', async () => {
      expectError(await ctx.api('POST', '/auth/refresh', { body: { refreshToken: 'never-issued-refresh-token' } }), 401, 'unauthorized')
    })

    it('logs out with 204, after which the refresh token no longer works', async () => {
      const user = await registerUser(ctx.api, 'Logout')
      const logout = await ctx.api('POST', '/auth/logout', { body: { refreshToken: user.refreshToken } })
      expect(logout.status).toBe(204)
      expect(logout.body).toBeUndefined()
      expectError(await ctx.api('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'unauthorized')
    })
  })

  describe('access token', () => {
    it('is an HS256 JWT with exp, iat, iss, aud and sub', async () => {
      const before = Math.floor(Date.now() / 1000)
      const user = await registerUser(ctx.api, 'Claims')
      const after = Math.ceil(Date.now() / 1000)
      const [header, payload, signature] = user.token.split('.')
      expect(decodePart(header)).toEqual({ alg: 'HS256', typ: 'JWT' })
      const claims = decodePart(payload)
      expect(claims).toMatchObject({ iss: ctx.server.config.jwtIssuer, aud: ctx.server.config.jwtAudience, sub: user.id })
      expect(claims.iat).toBeGreaterThanOrEqual(before)
      expect(claims.iat).toBeLessThanOrEqual(after)
      expect(claims.exp).toBe((claims.iat as number) + ctx.server.config.accessTokenTtlSec)
      expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/)
    })
  })

  describe('password storage', () => {
    it('stores an argon2id hash with OWASP parameters, never the password', async () => {
      const user = await registerUser(ctx.api, 'Hashed')
      const record = await ctx.server.app.storage.users.byEmail(user.email)
      expect(record?.id).toBe(user.id)
      expect(record?.passwordHash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true)
      expect(record?.passwordHash).not.toContain(PASSWORD)
    })
  })
})

describe('auth rate limit', () => {
  const ctx = useServer({ authRateLimitPerMinute: 3 })

  it('answers the 4th POST /auth/login within a minute with 429 rate_limited', async () => {
    const body = { email: uniqueEmail('limited'), password: PASSWORD }
    for (let i = 0; i < 3; i++) expectError(await ctx.api('POST', '/auth/login', { body }), 401, 'unauthorized')
    expectError(await ctx.api('POST', '/auth/login', { body }), 429, 'rate_limited')
  })
})

describe('development JWT secret (no JWT_SECRET)', () => {
  it('is generated into <dataDir>/jwt-secret with mode 0600 and survives a restart', async () => {
    const dir = await tempDir('collab-http-secret-')
    try {
      const first = await startServer({ dataDir: dir.path, jwtSecret: undefined })
      let token: string
      let userId: string
      try {
        const user = await registerUser(injectApi(first.app), 'Dev')
        token = user.token
        userId = user.id
      } finally {
        await first.close()
      }
      const file = await stat(path.join(dir.path, 'jwt-secret'))
      expect(file.isFile()).toBe(true)
      expect(file.mode & 0o777).toBe(0o600)

      const second = await startServer({ dataDir: dir.path, jwtSecret: undefined })
      try {
        const me = await injectApi(second.app)<{ user: { id: string } }>('GET', '/auth/me', { token })
        expect(me.status).toBe(200)
        expect(me.body.user.id).toBe(userId)
      } finally {
        await second.close()
      }

      // The token was signed with the generated secret, not some fixed one.
      const third = await startServer({ dataDir: dir.path, jwtSecret: TEST_JWT_SECRET })
      try {
        expectError(await injectApi(third.app)('GET', '/auth/me', { token }), 401, 'unauthorized')
      } finally {
        await third.close()
      }
    } finally {
      await dir.remove()
    }
  })
})
