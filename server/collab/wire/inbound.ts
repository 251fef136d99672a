/**
 * Decoding one inbound y-websocket frame into a typed message. Everything is bounded (see
 * BoundedReader) and validated in full before any of it reaches Yjs or y-protocols.
 */
import { MessageType, SyncType } from '../../../shared/protocol.ts'
import { BoundedReader, DecodeError } from './bounded-reader.ts'
import { ProtocolError } from './protocol-error.ts'

/** One awareness entry as sent: its state's JSON is left as bytes until it matters. */
export interface RawPresence {
  clientId: number
  clock: number
  json: Uint8Array
}

/**
 * Sync payloads are not decoded here: an update is validated as part of its content check
 * (content/update-analysis.ts walks it once), and a viewer's update is refused unread.
 */
export type Inbound =
  | { kind: 'sync-step1'; stateVector: Uint8Array }
  | { kind: 'sync-step2' | 'update'; update: Uint8Array }
  | { kind: 'awareness'; entries: RawPresence[] }
  | { kind: 'query-awareness' }
  | { kind: 'auth' }

export const MAX_AWARENESS_STATE_BYTES = 64 * 1024

export function decodeInbound(frame: Uint8Array, maxStateBytes = MAX_AWARENESS_STATE_BYTES): Inbound {
  try {
    const reader = new BoundedReader(frame)
    const message = readMessage(reader, maxStateBytes)
    if (!reader.done) throw new DecodeError(`${reader.remaining} trailing bytes`)
    return message
  } catch (error) {
    if (error instanceof DecodeError) throw ProtocolError.invalid(error.message)
    throw error
  }
}

function readMessage(reader: BoundedReader, maxStateBytes: number): Inbound {
  const type = reader.varUint()
  switch (type) {
    case MessageType.sync: return readSync(reader)
    case MessageType.awareness: return { kind: 'awareness', entries: parseAwarenessUpdate(reader.varBytes(), maxStateBytes) }
    case MessageType.queryAwareness: return { kind: 'query-awareness' }
    case MessageType.auth: reader.skip(reader.remaining); return { kind: 'auth' }
    default: throw new DecodeError(`unknown message type ${type}`)
  }
}

function readSync(reader: BoundedReader): Inbound {
  const syncType = reader.varUint()
  const payload = reader.varBytes()
  switch (syncType) {
    case SyncType.step1: validateStateVector(payload); return { kind: 'sync-step1', stateVector: payload }
    case SyncType.step2: return { kind: 'sync-step2', update: payload }
    case SyncType.update: return { kind: 'update', update: payload }
    default: throw new DecodeError(`unknown sync message type ${syncType}`)
  }
}

function validateStateVector(bytes: Uint8Array): void {
  const reader = new BoundedReader(bytes)
  const count = reader.count(2)
  for (let i = 0; i < count; i++) {
    if (reader.varUint() > 0xffffffff) throw new DecodeError('client id out of range')
    reader.varUint()
  }
  if (!reader.done) throw new DecodeError('trailing bytes after state vector')
}

/** The entries of an awareness update, bounded like every inbound decode; throws DecodeError. */
export function parseAwarenessUpdate(update: Uint8Array, maxStateBytes = MAX_AWARENESS_STATE_BYTES): RawPresence[] {
  const reader = new BoundedReader(update)
  const count = reader.count(3)
  const entries: RawPresence[] = []
  for (let i = 0; i < count; i++) {
    const clientId = reader.varUint()
    if (clientId > 0xffffffff) throw new DecodeError('client id out of range')
    const clock = reader.varUint()
    const json = reader.varBytes()
    if (json.length > maxStateBytes) throw new DecodeError('awareness state too large')
    entries.push({ clientId, clock, json })
  }
  if (!reader.done) throw new DecodeError('trailing bytes after awareness update')
  return entries
}

/** The empty update Yjs writes (no structs, no deletions): what a client with nothing new sends. */
export function isEmptyUpdateBytes(update: Uint8Array): boolean {
  return update.length === 2 && update[0] === 0 && update[1] === 0
}
