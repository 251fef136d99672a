import { KeyedMutex } from '../keyed-mutex.ts'
import type { BaseRole, MembershipRecord } from '../records.ts'
import type { MembershipStore } from '../types.ts'
import { commit, del, getMany, indexedIds, jsonLevel, put, type JsonLevel, type Op } from './json-level.ts'
import type { LevelDb } from './level.ts'

/** `members`: `<group>!<user>` → membership; `memberOf`: `<user>!<group>` (the reverse index). */
export class EmbeddedMembers implements MembershipStore {
  private readonly db: LevelDb
  readonly members: JsonLevel<MembershipRecord>
  readonly memberOf: JsonLevel<number>
  private readonly mutex = new KeyedMutex()

  constructor(db: LevelDb) {
    this.db = db
    this.members = jsonLevel(db, 'members')
    this.memberOf = jsonLevel(db, 'memberOf')
  }

  async get(groupId: string, userId: string): Promise<MembershipRecord | null> {
    return (await this.members.get(`${groupId}!${userId}`)) ?? null
  }

  put(membership: MembershipRecord): Promise<void> {
    return this.mutex.run(key(membership), () => commit(this.db, this.putOps(membership)))
  }

  add(membership: MembershipRecord): Promise<boolean> {
    return this.mutex.run(key(membership), async () => {
      if (await this.get(membership.groupId, membership.userId)) return false
      await commit(this.db, this.putOps(membership))
      return true
    })
  }

  setRole(groupId: string, userId: string, role: BaseRole): Promise<boolean> {
    return this.mutex.run(`${groupId}!${userId}`, async () => {
      const current = await this.get(groupId, userId)
      if (!current) return false
      await commit(this.db, [put(this.members, key(current), { ...current, role })])
      return true
    })
  }

  remove(groupId: string, userId: string): Promise<boolean> {
    return this.mutex.run(`${groupId}!${userId}`, async () => {
      if (!(await this.get(groupId, userId))) return false
      await commit(this.db, this.removeOps(groupId, userId))
      return true
    })
  }

  async byGroup(groupId: string): Promise<MembershipRecord[]> {
    const users = await indexedIds(this.members as unknown as JsonLevel<number>, groupId)
    return getMany(this.members, users.map((user) => `${groupId}!${user}`))
  }

  async byUser(userId: string): Promise<MembershipRecord[]> {
    const groups = await indexedIds(this.memberOf, userId)
    return getMany(this.members, groups.map((group) => `${group}!${userId}`))
  }

  async countByGroup(groupId: string): Promise<number> {
    return (await indexedIds(this.members as unknown as JsonLevel<number>, groupId)).length
  }

  removeOps(groupId: string, userId: string): Op[] {
    return [del(this.members, `${groupId}!${userId}`), del(this.memberOf, `${userId}!${groupId}`)]
  }

  putOps(membership: MembershipRecord): Op[] {
    return [put(this.members, key(membership), membership), put(this.memberOf, `${membership.userId}!${membership.groupId}`, 1)]
  }
}

function key(membership: MembershipRecord): string {
  return `${membership.groupId}!${membership.userId}`
}
