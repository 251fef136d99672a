/** An event as readers and receivers see it: `{ id, type, groupId, at, actor, data }`. */
import type { StoredEvent } from '../storage/feed-types.ts'

export interface EventView {
  id: string
  type: string
  groupId: string
  at: number
  actor: string | null
  data: Record<string, unknown>
}

/** `<groupId>.<seq>`: unique across groups (a receiver's dedupe key), ordered within one. */
export function eventId(groupId: string, seq: number): string {
  return `${groupId}.${seq}`
}

/** The seq an event id names in this group, or null if it names none. */
export function seqOfEventId(groupId: string, id: string): number | null {
  if (!id.startsWith(`${groupId}.`)) return null
  const digits = id.slice(groupId.length + 1)
  if (!/^\d{1,15}$/.test(digits)) return null
  return Number(digits)
}

export function eventView(event: StoredEvent): EventView {
  return { id: eventId(event.groupId, event.seq), type: event.type, groupId: event.groupId, at: event.at, actor: event.actor, data: event.data }
}
