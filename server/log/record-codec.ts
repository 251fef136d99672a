/**
 * How one log entry is stored: the batch of updates a node accepted together, each with the user
 * who wrote it (attribution, client-id bindings, history). One record per batch keeps a busy room
 * at one log write per batch instead of one per update.
 *
 *   "YLR1" | varuint count | count × (varstring writer | varbytes update)
 *
 * Entries written before records existed hold a bare update; they read as one update by an
 * unknown writer (""). A bare V1 update starting with these four bytes would declare 89 client
 * sections whose first has 76 structs for client 82 from clock 49: not something Yjs writes.
 */
import * as encoding from 'lib0/encoding'
import { BoundedReader, DecodeError } from '../collab/bounded-reader.ts'

const MAGIC = [0x59, 0x4c, 0x52, 0x31] // "YLR1"

/** One accepted update and who wrote it ("" when unknown, "server" for the server's own edits). */
export interface LoggedUpdate {
  writer: string
  update: Uint8Array
}

export function encodeRecord(updates: readonly LoggedUpdate[]): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const byte of MAGIC) encoding.writeUint8(encoder, byte)
  encoding.writeVarUint(encoder, updates.length)
  for (const { writer, update } of updates) {
    encoding.writeVarString(encoder, writer)
    encoding.writeVarUint8Array(encoder, update)
  }
  return encoding.toUint8Array(encoder)
}

/** Throws DecodeError on a damaged record (callers skip it loudly). */
export function decodeRecord(bytes: Uint8Array): LoggedUpdate[] {
  if (!MAGIC.every((byte, i) => bytes[i] === byte)) return [{ writer: '', update: bytes }]
  const reader = new BoundedReader(bytes)
  reader.skip(MAGIC.length)
  const count = reader.count(2)
  const updates: LoggedUpdate[] = []
  for (let i = 0; i < count; i++) {
    const writer = reader.varString()
    updates.push({ writer, update: reader.varBytes() })
  }
  if (!reader.done) throw new DecodeError('damaged log record: trailing bytes')
  return updates
}

export function recordBytes(updates: readonly LoggedUpdate[]): number {
  return updates.reduce((sum, u) => sum + u.update.length, 0)
}

/** Decodes, or reports a damaged record and reads it as empty: one bad record must not make a room unloadable. */
export function decodeRecordOrReport(bytes: Uint8Array, report: (error: unknown) => void): LoggedUpdate[] {
  try {
    return decodeRecord(bytes)
  } catch (error) {
    report(error)
    return []
  }
}
