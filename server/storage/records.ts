/** The records accounts and groups are made of, as every storage implementation keeps them. */
import type { Role } from '../collab/principal.ts'

export interface UserRecord {
  id: string
  /** Normalized: trimmed, lower-case. Unique. */
  email: string
  name: string
  passwordHash: string
  createdAt: number
}

export interface GroupRecord {
  id: string
  name: string
  description: string
  /** Exactly one owner; transferring ownership swaps this field atomically. */
  ownerId: string
  createdAt: number
}

/** A member's stored role. The owner's effective role is `owner` whatever is stored here. */
export type BaseRole = Exclude<Role, 'owner'>

export interface MembershipRecord {
  groupId: string
  userId: string
  role: BaseRole
  joinedAt: number
}

export interface InviteRecord {
  code: string
  groupId: string
  role: BaseRole
  createdBy: string
  createdAt: number
  expiresAt: number
  maxUses: number
  uses: number
}

export interface SessionRecord {
  /** SHA-256 of the refresh token; the token itself is never stored. */
  tokenHash: string
  userId: string
  expiresAt: number
}
