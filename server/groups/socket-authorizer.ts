/** Authorization of collaboration sockets: a valid access token, and membership of the room's group. */
import { CloseCode } from '../../shared/close-codes.ts'
import type { RoomRef } from '../../shared/rooms.ts'
import type { TokenService } from '../accounts/tokens.ts'
import type { Authorizer, AuthResult } from '../collab/authorizer.ts'
import type { AccessCache } from './access-cache.ts'

export class SocketAuthorizer implements Authorizer {
  private readonly tokens: TokenService
  private readonly access: AccessCache

  constructor(tokens: TokenService, access: AccessCache) {
    this.tokens = tokens
    this.access = access
  }

  async authorize(room: RoomRef, token: string | undefined): Promise<AuthResult> {
    if (!token) return { ok: false, code: CloseCode.unauthorized, reason: 'missing token' }
    let claims
    try {
      claims = await this.tokens.verifyAccess(token)
    } catch {
      return { ok: false, code: CloseCode.unauthorized, reason: 'invalid or expired token' }
    }
    const found = await this.access.get(room.groupId, claims.userId)
    if (!found) return { ok: false, code: CloseCode.notFound, reason: 'no such group' }
    if (!found.role) return { ok: false, code: CloseCode.forbidden, reason: 'not a member of this group' }
    return { ok: true, principal: { userId: claims.userId, name: claims.name, role: found.role } }
  }
}
