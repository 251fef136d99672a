/**
 * Access tokens: JWTs signed HS256 (the only algorithm accepted), with required exp, iat, iss,
 * aud and sub. Refresh tokens: opaque random strings, stored only as SHA-256 hashes, single use
 * (each refresh rotates them).
 */
import { createHash, randomBytes } from 'node:crypto'
import { SignJWT, jwtVerify } from 'jose'
import type { SessionStore } from '../storage/types.ts'

export interface TokenSettings {
  secret: Uint8Array
  issuer: string
  audience: string
  accessTtlSec: number
  refreshTtlSec: number
}

export interface AccessClaims {
  userId: string
  name: string
}

export interface TokenPair {
  accessToken: string
  refreshToken: string
  /** Seconds until the access token expires. */
  expiresIn: number
}

const ALGORITHM = 'HS256'
const ACCESS = 'access'

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError'
}

export class TokenService {
  private readonly settings: TokenSettings
  private readonly sessions: SessionStore

  constructor(settings: TokenSettings, sessions: SessionStore) {
    this.settings = settings
    this.sessions = sessions
  }

  async issue(user: AccessClaims): Promise<TokenPair> {
    const refreshToken = randomBytes(32).toString('base64url')
    await this.sessions.create({
      tokenHash: hashToken(refreshToken),
      userId: user.userId,
      expiresAt: Date.now() + this.settings.refreshTtlSec * 1000,
    })
    return { accessToken: await this.signAccess(user), refreshToken, expiresIn: this.settings.accessTtlSec }
  }

  signAccess(user: AccessClaims): Promise<string> {
    return new SignJWT({ name: user.name, typ: ACCESS })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(user.userId)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.accessTtlSec}s`)
      .sign(this.settings.secret)
  }

  /** Throws InvalidTokenError for anything but a valid, unexpired access token of ours. */
  async verifyAccess(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.settings.secret, {
        algorithms: [ALGORITHM],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
      })
      if (payload.typ !== ACCESS || typeof payload.sub !== 'string') throw new Error('not an access token')
      return { userId: payload.sub, name: typeof payload.name === 'string' ? payload.name : '' }
    } catch (error) {
      throw new InvalidTokenError(error instanceof Error ? error.message : 'invalid token')
    }
  }

  /** Consumes a refresh token; returns its user id, or null if unknown, used or expired. */
  async redeemRefresh(refreshToken: string): Promise<string | null> {
    const session = await this.sessions.consume(hashToken(refreshToken), Date.now())
    return session?.userId ?? null
  }

  revokeRefresh(refreshToken: string): Promise<void> {
    return this.sessions.revoke(hashToken(refreshToken))
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
