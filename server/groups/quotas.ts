/**
 * Count quotas: groups per user (owned or joined: MAX_GROUPS_PER_USER, which also bounds
 * GET /groups) and live invites per group (MAX_INVITES_PER_GROUP). Past one, the request gets
 * 409 `quota_exceeded`: waiting does not help, leaving a group or revoking an invite does.
 *
 * Check and write run one at a time per user (per group for invites) on this node, so parallel
 * requests cannot slip past the limit together. Across nodes the storage has no atomic counter
 * to lean on: N nodes racing for one user's last slot can overshoot it by at most N - 1.
 */
import { HttpError } from '../../shared/http-error.ts'
import { KeyedMutex } from '../storage/keyed-mutex.ts'
import type { InviteRecord } from '../storage/records.ts'
import type { Storage } from '../storage/types.ts'

export interface QuotaLimits {
  maxGroupsPerUser: number
  maxInvitesPerGroup: number
}

export function quotaExceeded(message: string): HttpError {
  return new HttpError(409, 'quota_exceeded', message)
}

export class Quotas {
  private readonly storage: Storage
  private readonly limits: QuotaLimits
  private readonly locks = new KeyedMutex()

  constructor(storage: Storage, limits: QuotaLimits) {
    this.storage = storage
    this.limits = limits
  }

  /** Runs `join`, which adds one membership for `userId`, only while the user has a group to spare. */
  withGroupSlot<T>(userId: string, join: () => Promise<T>): Promise<T> {
    return this.locks.run(`user:${userId}`, async () => {
      const groups = (await this.storage.members.byUser(userId)).length
      if (groups >= this.limits.maxGroupsPerUser) {
        throw quotaExceeded(`you belong to ${groups} groups, the most allowed (${this.limits.maxGroupsPerUser}); leave or delete one first`)
      }
      return join()
    })
  }

  /** Runs `create`, which adds one invite to `groupId`, only while the group has an invite to spare. */
  withInviteSlot<T>(groupId: string, create: () => Promise<T>): Promise<T> {
    return this.locks.run(`invites:${groupId}`, async () => {
      const now = Date.now()
      const live = (await this.storage.invites.byGroup(groupId)).filter((invite) => isLive(invite, now)).length
      if (live >= this.limits.maxInvitesPerGroup) {
        throw quotaExceeded(`this group has ${live} open invites, the most allowed (${this.limits.maxInvitesPerGroup}); revoke one first`)
      }
      return create()
    })
  }
}

function isLive(invite: InviteRecord, now: number): boolean {
  return invite.expiresAt > now && invite.uses < invite.maxUses
}
