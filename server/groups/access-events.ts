/**
 * What every node does when access changes anywhere: drop cached lookups, then bring open sockets
 * in line (downgrade, close with 4403, or close a deleted group's rooms with 4404).
 *
 * Events can be lost (a publisher cut off from Redis that then dies, a subscriber away), so each
 * node also re-checks every open socket's role against storage on a schedule: a removed member
 * loses every socket within REVOCATION_DEADLINE_MS whatever happened to the event.
 */
import { CloseCode } from '../../shared/close-codes.ts'
import { BackgroundLoop, type BackgroundFailures } from '../background-loop.ts'
import { ROOM_KINDS, roomName } from '../../shared/rooms.ts'
import type { CollabCore } from '../collab/index.ts'
import type { AccessEvent, EventBus } from '../events/bus.ts'
import type { GroupResponse } from '../../shared/api.ts'
import type { Logger } from '../logger.ts'
import type { Role } from '../collab/principal.ts'
import type { Access, AccessCache } from './access-cache.ts'
import type { TaggedCache } from './tagged-cache.ts'

export interface AccessCaches {
  access: AccessCache
  lists: TaggedCache<GroupResponse[]>
}

export interface RecheckOptions {
  /** Every open socket is re-checked at least this often. */
  deadlineMs: number
  /** Re-checks are skipped while storage is down (they could only fail). */
  storageUp(): boolean
  logger: Logger
  failures: BackgroundFailures
}

/** Follows access events; returns the function that stops following (and re-checking). */
export function followAccessEvents(bus: EventBus, caches: AccessCaches, collab: CollabCore, recheck: RecheckOptions): () => Promise<void> {
  const { access } = caches
  const unsubscribe = bus.subscribe((event) => apply(event, caches, collab))
  const unwatch = bus.onGap(() => {
    access.clear()
    caches.lists.clear()
    void collab.server.revalidate(async (groupId, userId) => (await access.get(groupId, userId))?.role ?? null)
  })
  const rechecks = new BackgroundLoop(() => recheckSockets(collab, access, recheck), {
    // Half the deadline: a check that starts just before a change still ends well within it.
    name: 'socket-role-recheck', everyMs: Math.floor(recheck.deadlineMs / 2), logger: recheck.logger, failures: recheck.failures,
  }).start()
  return async () => {
    unsubscribe()
    unwatch()
    await rechecks.stop()
  }
}

/** Reads each connected member's role fresh from storage (once per group and user) and applies it. */
async function recheckSockets(collab: CollabCore, access: AccessCache, recheck: RecheckOptions): Promise<void> {
  if (!recheck.storageUp()) throw new Error('storage down; socket roles not re-checked')
  const fresh = new Map<string, Promise<Access | null>>()
  const roleOf = async (groupId: string, userId: string): Promise<Role | null> => {
    const key = `${groupId}\u0000${userId}`
    let found = fresh.get(key)
    if (!found) {
      found = access.refresh(groupId, userId) // the cached lookup may predate a lost event
      fresh.set(key, found)
    }
    return (await found)?.role ?? null
  }
  await collab.server.revalidate(roleOf)
}

function apply(event: AccessEvent, { access, lists }: AccessCaches, collab: CollabCore): void {
  lists.invalidate(`group:${event.groupId}`) // names, roles or member counts in everyone's lists
  switch (event.type) {
    case 'membership':
      lists.invalidate(`user:${event.userId}`)
      access.invalidateMember(event.groupId, event.userId)
      collab.server.applyRole(event.groupId, event.userId, event.role)
      return
    case 'group-changed':
      access.invalidateGroup(event.groupId)
      return
    case 'group-deleted':
      access.invalidateGroup(event.groupId)
      for (const kind of ROOM_KINDS) void collab.registry.discard(roomName(event.groupId, kind), CloseCode.notFound, 'group deleted')
      return
  }
}

/** Deletes a deleted group's documents once their rooms have left this node's memory. */
export async function deleteGroupDocuments(collab: CollabCore, groupId: string, remove: (room: string) => Promise<void>): Promise<void> {
  for (const kind of ROOM_KINDS) {
    const room = roomName(groupId, kind)
    await collab.registry.discard(room, CloseCode.notFound, 'group deleted')
    await remove(room)
  }
}
