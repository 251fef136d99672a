/**
 * Presence as nodes relay it to each other: each state with who owns its client id there, so
 * every node knows every claim (a viewer on node 2 cannot take the id of a member who was on
 * node 1, and a write under a member's presence id is refused on every node). The states are
 * stamped by the node that owns them; the owner fields never reach clients.
 *
 * Entry: [client id][clock][state JSON, "null" for a removal][user id][can write: 0 or 1].
 */
import * as encoding from 'lib0/encoding'
import { BoundedReader, DecodeError } from './bounded-reader.ts'
import { MAX_AWARENESS_STATE_BYTES, type RawPresence } from './inbound.ts'

export interface RelayedPresence extends RawPresence {
  userId: string
  canWrite: boolean
}

export interface RelayedChange {
  clientId: number
  clock: number
  json: string | null
  userId: string
  canWrite: boolean
}

const MAX_USER_ID_BYTES = 256

export function encodeRelayedPresence(changes: readonly RelayedChange[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, changes.length)
  for (const { clientId, clock, json, userId, canWrite } of changes) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, json ?? 'null')
    encoding.writeVarString(encoder, userId)
    encoding.writeUint8(encoder, canWrite ? 1 : 0)
  }
  return encoding.toUint8Array(encoder)
}

/** Throws DecodeError for anything malformed (another node's bug must not crash this one). */
export function decodeRelayedPresence(bytes: Uint8Array): RelayedPresence[] {
  const reader = new BoundedReader(bytes)
  const count = reader.count(5)
  const entries: RelayedPresence[] = []
  for (let i = 0; i < count; i++) {
    const clientId = reader.varUint()
    if (clientId > 0xffffffff) throw new DecodeError('client id out of range')
    const clock = reader.varUint()
    const json = reader.varBytes()
    if (json.length > MAX_AWARENESS_STATE_BYTES) throw new DecodeError('awareness state too large')
    const user = reader.varBytes()
    if (user.length > MAX_USER_ID_BYTES) throw new DecodeError('user id too long')
    const canWrite = reader.uint8()
    if (canWrite > 1) throw new DecodeError('bad write flag')
    entries.push({ clientId, clock, json, userId: new TextDecoder().decode(user), canWrite: canWrite === 1 })
  }
  if (!reader.done) throw new DecodeError('trailing bytes after relayed presence')
  return entries
}
