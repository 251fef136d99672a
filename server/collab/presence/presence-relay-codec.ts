/**
 * Presence as nodes relay it to each other: each state with who owns its client id there, so
 * every node knows every claim (a viewer on node 2 cannot take the id of a member who was on
 * node 1, and a write under a member's presence id is refused on every node). The states are
 * stamped by the node that owns them; the owner fields never reach clients.
 *
 * Entry: [client id][clock][state JSON, "null" for a removal][user id][can write: 0 or 1].
 *
 * A node's answer to a node that has just loaded the room: [its sockets' states, as above][the
 * claims it remembers: count, then [client id][user id][can write] each]. The claims matter for
 * ids whose holder has no state anywhere right now (a member in the middle of a reconnect): her id
 * is still hers, and the new node must know it before it judges anyone else's claim or write.
 */
import * as encoding from 'lib0/encoding'
import { BoundedReader, DecodeError } from '../wire/bounded-reader.ts'
import { MAX_AWARENESS_STATE_BYTES, type RawPresence } from '../wire/inbound.ts'

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

/** A client id claimed in a room's presence, and by whom. */
export interface RelayedClaim {
  clientId: number
  userId: string
  canWrite: boolean
}

export interface PresenceAnswer {
  states: RelayedPresence[]
  claims: RelayedClaim[]
}

const MAX_USER_ID_BYTES = 256
const textDecoder = new TextDecoder()

export function encodeRelayedPresence(changes: readonly RelayedChange[]): Uint8Array {
  const encoder = encoding.createEncoder()
  writeStates(encoder, changes)
  return encoding.toUint8Array(encoder)
}

/** Throws DecodeError for anything malformed (another node's bug must not crash this one). */
export function decodeRelayedPresence(bytes: Uint8Array): RelayedPresence[] {
  const reader = new BoundedReader(bytes)
  const entries = readStates(reader)
  if (!reader.done) throw new DecodeError('trailing bytes after relayed presence')
  return entries
}

export function encodePresenceAnswer(states: readonly RelayedChange[], claims: readonly RelayedClaim[]): Uint8Array {
  const encoder = encoding.createEncoder()
  writeStates(encoder, states)
  encoding.writeVarUint(encoder, claims.length)
  for (const { clientId, userId, canWrite } of claims) {
    encoding.writeVarUint(encoder, clientId)
    writeOwner(encoder, userId, canWrite)
  }
  return encoding.toUint8Array(encoder)
}

/** Throws DecodeError for anything malformed. */
export function decodePresenceAnswer(bytes: Uint8Array): PresenceAnswer {
  const reader = new BoundedReader(bytes)
  const states = readStates(reader)
  const count = reader.count(3)
  const claims: RelayedClaim[] = []
  for (let i = 0; i < count; i++) claims.push({ clientId: readClientId(reader), ...readOwner(reader) })
  if (!reader.done) throw new DecodeError('trailing bytes after a presence answer')
  return { states, claims }
}

function writeStates(encoder: encoding.Encoder, changes: readonly RelayedChange[]): void {
  encoding.writeVarUint(encoder, changes.length)
  for (const { clientId, clock, json, userId, canWrite } of changes) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, json ?? 'null')
    writeOwner(encoder, userId, canWrite)
  }
}

function writeOwner(encoder: encoding.Encoder, userId: string, canWrite: boolean): void {
  encoding.writeVarString(encoder, userId)
  encoding.writeUint8(encoder, canWrite ? 1 : 0)
}

function readStates(reader: BoundedReader): RelayedPresence[] {
  const count = reader.count(5)
  const entries: RelayedPresence[] = []
  for (let i = 0; i < count; i++) {
    const clientId = readClientId(reader)
    const clock = reader.varUint()
    const json = reader.varBytes()
    if (json.length > MAX_AWARENESS_STATE_BYTES) throw new DecodeError('awareness state too large')
    entries.push({ clientId, clock, json, ...readOwner(reader) })
  }
  return entries
}

function readClientId(reader: BoundedReader): number {
  const clientId = reader.varUint()
  if (clientId > 0xffffffff) throw new DecodeError('client id out of range')
  return clientId
}

function readOwner(reader: BoundedReader): { userId: string; canWrite: boolean } {
  const user = reader.varBytes()
  if (user.length > MAX_USER_ID_BYTES) throw new DecodeError('user id too long')
  const canWrite = reader.uint8()
  if (canWrite > 1) throw new DecodeError('bad write flag')
  return { userId: textDecoder.decode(user), canWrite: canWrite === 1 }
}
