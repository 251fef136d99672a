/**
 * The one place authorization plugs into the collaboration server: called at upgrade, before the
 * handshake completes and before any document is loaded.
 */
import type { CloseCodeValue } from '../../shared/close-codes.ts'
import type { RoomRef } from '../../shared/rooms.ts'
import type { Principal } from './principal.ts'

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; code: CloseCodeValue; reason: string }

export interface Authorizer {
  authorize(room: RoomRef, token: string | undefined): Promise<AuthResult>
}
