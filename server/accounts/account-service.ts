/** Sign-up, log-in, refresh, log-out. */
import { newId } from '../../shared/ids.ts'
import { conflict, unauthorized } from '../errors.ts'
import type { UserRecord } from '../storage/records.ts'
import { DuplicateError, type UserStore } from '../storage/types.ts'
import { canonicalEmail, normalizeEmail } from './email.ts'
import { hashPassword, verifyAgainstDummy, verifyPassword } from './passwords.ts'
import type { TokenPair, TokenService } from './tokens.ts'

export interface PublicUser {
  id: string
  email: string
  name: string
  createdAt: number
}

export interface Session extends TokenPair {
  user: PublicUser
}

export function publicUser(user: UserRecord): PublicUser {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt }
}

export class AccountService {
  private readonly users: UserStore
  private readonly tokens: TokenService

  constructor(users: UserStore, tokens: TokenService) {
    this.users = users
    this.tokens = tokens
  }

  async register(input: { email: string; password: string; name: string }): Promise<Session> {
    const email = canonicalEmail(input.email)
    if (await this.users.byEmail(email)) throw conflict('email already registered')
    const user: UserRecord = { id: newId(), email, name: input.name.trim(), passwordHash: await hashPassword(input.password), createdAt: Date.now() }
    try {
      await this.users.create(user)
    } catch (error) {
      if (error instanceof DuplicateError) throw conflict('email already registered')
      throw error
    }
    return this.sessionFor(user)
  }

  async login(input: { email: string; password: string }): Promise<Session> {
    const user = await this.users.byEmail(normalizeEmail(input.email))
    const valid = user ? await verifyPassword(user.passwordHash, input.password) : await verifyAgainstDummy(input.password)
    if (!user || !valid) throw unauthorized('wrong email or password')
    return this.sessionFor(user)
  }

  async refresh(refreshToken: string): Promise<Session> {
    const userId = await this.tokens.redeemRefresh(refreshToken)
    const user = userId ? await this.users.byId(userId) : null
    if (!user) throw unauthorized('refresh token invalid, used or expired')
    return this.sessionFor(user)
  }

  logout(refreshToken: string): Promise<void> {
    return this.tokens.revokeRefresh(refreshToken)
  }

  async me(userId: string): Promise<PublicUser> {
    const user = await this.users.byId(userId)
    if (!user) throw unauthorized('account no longer exists')
    return publicUser(user)
  }

  private async sessionFor(user: UserRecord): Promise<Session> {
    return { user: publicUser(user), ...(await this.tokens.issue({ userId: user.id, name: user.name })) }
  }
}
