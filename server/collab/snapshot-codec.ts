/**
 * How a snapshot is stored: its state as a list of pieces (each a valid update, see
 * split-update.ts), framed behind a magic header, so a load can apply them one at a time. The
 * first `full` pieces are one complete fold; any after them are deltas appended by incremental
 * compactions. Bytes without the header are read as a single update (written by another tool).
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

const MAGIC = [0x59, 0x53, 0x4e, 0x50] // "YSNP"
const VERSION = 1

export interface SnapshotParts {
  pieces: Uint8Array[]
  /** How many leading pieces come from the last full fold (the rest are deltas). */
  full: number
}

export function encodeSnapshot(pieces: Uint8Array[], full = pieces.length): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const byte of MAGIC) encoding.writeUint8(encoder, byte)
  encoding.writeUint8(encoder, VERSION)
  encoding.writeVarUint(encoder, full)
  encoding.writeVarUint(encoder, pieces.length)
  for (const piece of pieces) encoding.writeVarUint8Array(encoder, piece)
  return encoding.toUint8Array(encoder)
}

export function decodeSnapshotParts(bytes: Uint8Array): SnapshotParts {
  if (!MAGIC.every((byte, i) => bytes[i] === byte) || bytes[MAGIC.length] !== VERSION) return { pieces: [bytes], full: 1 }
  const decoder = decoding.createDecoder(bytes)
  decoder.pos = MAGIC.length + 1
  const full = decoding.readVarUint(decoder)
  const count = decoding.readVarUint(decoder)
  const pieces: Uint8Array[] = []
  for (let i = 0; i < count; i++) pieces.push(decoding.readVarUint8Array(decoder))
  return { pieces, full }
}

export function decodeSnapshot(bytes: Uint8Array): Uint8Array[] {
  return decodeSnapshotParts(bytes).pieces
}
