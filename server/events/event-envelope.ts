/**
 * How an access event travels between nodes, by access format (cluster/wire-format.ts):
 *
 *   1 (releases before the registry): JSON `{"node": <sender>, "event": <event>}`
 *   2: JSON `{"v": 2, "node": <sender>, "event": <event>}`
 *
 * `v` is absent only in format 1; a later format keeps `v` and `node` where they are, so a node
 * that cannot read a newer event still knows who sent it, drops it and counts it.
 */
import type { DropReason } from '../cluster/format-negotiator.ts'
import { ROLES } from '../collab/principal.ts'
import type { AccessEvent } from './bus.ts'

export interface Envelope {
  version: number
  node: string
  event: AccessEvent
}

export type ReadEnvelope =
  | { ok: true; envelope: Envelope }
  | { ok: false; reason: DropReason; node: string | null; version: number | null }

const EVENT_TYPES = new Set(['membership', 'group-changed', 'group-deleted'])

export function encodeEnvelope({ version, node, event }: Envelope): string {
  return JSON.stringify(version === 1 ? { node, event } : { v: version, node, event })
}

/** Never throws: a malformed or unreadable envelope is reported, not delivered. */
export function decodeEnvelope(message: string, reads: (version: number) => boolean): ReadEnvelope {
  let parsed: unknown
  try {
    parsed = JSON.parse(message)
  } catch {
    return { ok: false, reason: 'malformed', node: null, version: null }
  }
  if (typeof parsed !== 'object' || parsed === null) return { ok: false, reason: 'malformed', node: null, version: null }
  const { v, node, event } = parsed as { v?: unknown; node?: unknown; event?: unknown }
  const version = v === undefined ? 1 : v
  if (typeof node !== 'string' || !Number.isInteger(version) || (version as number) < (v === undefined ? 1 : 2)) {
    return { ok: false, reason: 'malformed', node: null, version: null }
  }
  if (!reads(version as number)) return { ok: false, reason: 'unknown_version', node, version: version as number }
  if (!isAccessEvent(event)) return { ok: false, reason: 'malformed', node, version: version as number }
  return { ok: true, envelope: { version: version as number, node, event } }
}

/** Enough shape to route the event; each handler reads only the fields of its type. */
function isAccessEvent(event: unknown): event is AccessEvent {
  if (typeof event !== 'object' || event === null) return false
  const { type, groupId, userId, role } = event as { type?: unknown; groupId?: unknown; userId?: unknown; role?: unknown }
  if (typeof type !== 'string' || !EVENT_TYPES.has(type) || typeof groupId !== 'string') return false
  return type !== 'membership' || (typeof userId === 'string' && (role === null || (ROLES as readonly unknown[]).includes(role)))
}
