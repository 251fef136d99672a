/**
 * What every node does when access changes anywhere: drop cached lookups, then bring open sockets
 * in line (downgrade, close with 4403, or close a deleted group's rooms with 4404).
 */
import { CloseCode } from '../../shared/close-codes.ts'
import { ROOM_KINDS, roomName } from '../../shared/rooms.ts'
import type { CollabCore } from '../collab/index.ts'
import type { AccessEvent, EventBus } from '../events/bus.ts'
import type { GroupResponse } from '../../shared/api.ts'
import type { AccessCache } from './access-cache.ts'
import type { TaggedCache } from './tagged-cache.ts'

export interface AccessCaches {
  access: AccessCache
  lists: TaggedCache<GroupResponse[]>
}

export function followAccessEvents(bus: EventBus, caches: AccessCaches, collab: CollabCore): () => void {
  const { access } = caches
  const unsubscribe = bus.subscribe((event) => apply(event, caches, collab))
  const unwatch = bus.onGap(() => {
    access.clear()
    caches.lists.clear()
    void collab.server.revalidate(async (groupId, userId) => (await access.get(groupId, userId))?.role ?? null)
  })
  return () => {
    unsubscribe()
    unwatch()
  }
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
