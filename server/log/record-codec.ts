/**
 * How one log entry is stored: the batch of updates a node accepted together, each with the user
 * who wrote it (attribution, client-id bindings, history), and the tag of the append that wrote it
 * (its node and sequence: how a node knows its own entries when it reads them before `append`
 * has answered). One record per batch keeps a busy room at one log write per batch.
 *
 *   "YLR2" | varstring tag | varuint count | count × (varstring writer | varbytes update)
 *   "YLR1" | varuint count | count × (varstring writer | varbytes update)        (no tag)
 *
 * Entries written before records existed hold a bare update; they read as one update by an
 * unknown writer (""). A bare V1 update starting with these four bytes would declare 89 client
 * sections whose first has 76 structs for client 82 from clock 49: not something Yjs writes.
 *
 * The digit is the record format (cluster/wire-format.ts). A later one ("YLR3"…) is refused with
 * UnknownFormatError, never read as a bare update: nodes write it only once every live node reads
 * it, so one arriving here means a node was rolled back past the release that writes it.
 */
import * as encoding from 'lib0/encoding'
import { BoundedReader, DecodeError, UnknownFormatError } from '../collab/wire/bounded-reader.ts'

const MAGIC_V1 = [0x59, 0x4c, 0x52, 0x31] // "YLR1"
const MAGIC_V2 = [0x59, 0x4c, 0x52, 0x32] // "YLR2"
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39

/** One accepted update and who wrote it ("" when unknown). */
export interface LoggedUpdate {
  writer: string
  update: Uint8Array
}

/** A batch as logged: its updates and the tag of the append that wrote it ("" when none). */
export interface LogRecord {
  tag: string
  updates: LoggedUpdate[]
}

export function encodeRecord({ tag, updates }: LogRecord): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const byte of MAGIC_V2) encoding.writeUint8(encoder, byte)
  encoding.writeVarString(encoder, tag)
  encoding.writeVarUint(encoder, updates.length)
  for (const { writer, update } of updates) {
    encoding.writeVarString(encoder, writer)
    encoding.writeVarUint8Array(encoder, update)
  }
  return encoding.toUint8Array(encoder)
}

/** Throws DecodeError on a damaged record (callers skip it loudly). */
export function decodeRecord(bytes: Uint8Array): LogRecord {
  const version = startsWith(bytes, MAGIC_V2) ? 2 : startsWith(bytes, MAGIC_V1) ? 1 : 0
  if (version === 0) {
    if (isLaterRecord(bytes)) throw new UnknownFormatError(`log record format ${String.fromCharCode(bytes[3]!)} is newer than this release reads`)
    return { tag: '', updates: [{ writer: '', update: bytes }] }
  }
  const reader = new BoundedReader(bytes)
  reader.skip(MAGIC_V2.length)
  const tag = version === 2 ? reader.varString() : ''
  const count = reader.count(2)
  const updates: LoggedUpdate[] = []
  for (let i = 0; i < count; i++) {
    const writer = reader.varString()
    updates.push({ writer, update: reader.varBytes() })
  }
  if (!reader.done) throw new DecodeError('damaged log record: trailing bytes')
  return { tag, updates }
}

export function recordBytes(updates: readonly LoggedUpdate[]): number {
  return updates.reduce((sum, u) => sum + u.update.length, 0)
}

/** Decodes, or reports a damaged record and reads it as empty: one bad record must not make a room unloadable. */
export function decodeRecordOrReport(bytes: Uint8Array, report: (error: unknown) => void): LogRecord {
  try {
    return decodeRecord(bytes)
  } catch (error) {
    report(error)
    return { tag: '', updates: [] }
  }
}

/** "YLR" and a digit other than the ones read above. */
function isLaterRecord(bytes: Uint8Array): boolean {
  const digit = bytes[3]
  return startsWith(bytes, MAGIC_V1.slice(0, 3)) && digit !== undefined && digit >= DIGIT_0 && digit <= DIGIT_9
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, i) => bytes[i] === byte)
}
