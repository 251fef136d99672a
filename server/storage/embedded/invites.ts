import { KeyedMutex } from '../keyed-mutex.ts'
import type { InviteRecord } from '../records.ts'
import type { InviteStore } from '../types.ts'
import { commit, del, getMany, indexedIds, jsonLevel, put, type JsonLevel, type Op } from './json-level.ts'
import type { LevelDb } from './level.ts'

/** `invites`: code → invite; `groupInvites`: `<group>!<code>`. Expired invites are refused on use. */
export class EmbeddedInvites implements InviteStore {
  private readonly db: LevelDb
  private readonly invites: JsonLevel<InviteRecord>
  readonly groupInvites: JsonLevel<number>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.db = db
    this.invites = jsonLevel(db, 'invites')
    this.groupInvites = jsonLevel(db, 'groupInvites')
  }

  create(invite: InviteRecord): Promise<void> {
    return commit(this.db, [put(this.invites, invite.code, invite), put(this.groupInvites, `${invite.groupId}!${invite.code}`, 1)])
  }

  async get(code: string): Promise<InviteRecord | null> {
    return (await this.invites.get(code)) ?? null
  }

  async byGroup(groupId: string): Promise<InviteRecord[]> {
    return getMany(this.invites, await indexedIds(this.groupInvites, groupId))
  }

  consume(code: string, now: number): Promise<InviteRecord | null> {
    return this.mutex.run(code, async () => {
      const invite = await this.get(code)
      if (!invite || invite.expiresAt <= now || invite.uses >= invite.maxUses) return null
      const used = { ...invite, uses: invite.uses + 1 }
      await commit(this.db, [put(this.invites, code, used)])
      return used
    })
  }

  delete(code: string): Promise<boolean> {
    return this.mutex.run(code, async () => {
      const invite = await this.get(code)
      if (!invite) return false
      await commit(this.db, this.deleteOps(invite.groupId, code))
      return true
    })
  }

  deleteOps(groupId: string, code: string): Op[] {
    return [del(this.invites, code), del(this.groupInvites, `${groupId}!${code}`)]
  }
}
