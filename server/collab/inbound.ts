/**
 * Decoding one inbound y-websocket frame into a typed message. Everything is bounded (see
 * BoundedReader) and validated in full before any of it reaches Yjs or y-protocols.
 */
import { MessageType, SyncType } from '../../shared/protocol.ts'
import { BoundedReader, DecodeError } from './bounded-reader.ts'
import { ProtocolError } from './protocol-error.ts'
import { validateUpdateV1, type UpdateSummary } from './update-validator.ts'

export interface AwarenessEntry {
  clientId: number
  clock: number
  /** null removes the client's state. */
  state: unknown
}

export type Inbound =
  | { kind: 'sync-step1'; stateVector: Uint8Array }
  | { kind: 'sync-step2' | 'update'; update: Uint8Array; summary: UpdateSummary }
  | { kind: 'awareness'; update: Uint8Array; entries: AwarenessEntry[] }
  | { kind: 'query-awareness' }
  | { kind: 'auth' }

export const MAX_AWARENESS_STATE_BYTES = 64 * 1024

export function decodeInbound(frame: Uint8Array): Inbound {
  try {
    const reader = new BoundedReader(frame)
    const message = readMessage(reader)
    if (!reader.done) throw new DecodeError(`${reader.remaining} trailing bytes`)
    return message
  } catch (error) {
    if (error instanceof DecodeError) throw ProtocolError.invalid(error.message)
    throw error
  }
}

function readMessage(reader: BoundedReader): Inbound {
  const type = reader.varUint()
  switch (type) {
    case MessageType.sync: return readSync(reader)
    case MessageType.awareness: return readAwareness(reader.varBytes())
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
    case SyncType.step2: return { kind: 'sync-step2', update: payload, summary: validateUpdateV1(payload) }
    case SyncType.update: return { kind: 'update', update: payload, summary: validateUpdateV1(payload) }
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

function readAwareness(update: Uint8Array): Inbound {
  return { kind: 'awareness', update, entries: parseAwarenessUpdate(update) }
}

/** The entries of an awareness update, bounded like every inbound decode; throws DecodeError. */
export function parseAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const reader = new BoundedReader(update)
  const count = reader.count(3)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = reader.varUint()
    const clock = reader.varUint()
    const json = reader.varString()
    if (json.length > MAX_AWARENESS_STATE_BYTES) throw new DecodeError('awareness state too large')
    entries.push({ clientId, clock, state: parseJson(json) })
  }
  if (!reader.done) throw new DecodeError('trailing bytes after awareness update')
  return entries
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json)
  } catch {
    throw new DecodeError('awareness state is not JSON')
  }
}
