/**
 * How a snapshot is stored: its state as a list of pieces (each a valid update, see
 * split-update.ts), framed behind a magic header, so a load can apply or send them one at a time.
 * The first `full` pieces are one complete fold; any after them are deltas appended by
 * incremental compactions.
 *
 * Version 2 also keeps what a room needs to serve the snapshot without reading it first: each
 * piece's clock ranges and delete-set offset (update-info.ts), the state vector the pieces hold,
 * and the client-id bindings (which user first wrote under each Yjs client id). Version 1 has
 * pieces only; bytes without the header are read as a single update (written by another tool).
 * Kept versions (history) store these same bytes, so they read the same way.
 *
 * The version byte is the snapshot format (cluster/wire-format.ts). A later one is refused with
 * UnknownFormatError, never read as a bare update (the room fails to load and is retried rather
 * than served wrong): nodes write a new format only once every live node reads it.
 */
import * as encoding from 'lib0/encoding'
import { BoundedReader, UnknownFormatError } from '../wire/bounded-reader.ts'
import type { UpdateInfo } from '../sync/update-info.ts'

const MAGIC = [0x59, 0x53, 0x4e, 0x50] // "YSNP"

export interface SnapshotParts {
  pieces: Uint8Array[]
  /** How many leading pieces come from the last full fold (the rest are deltas). */
  full: number
  /** Per piece, what it covers (null: not stored, version 1). */
  infos: UpdateInfo[] | null
  /** The state vector the pieces hold (null: not stored). */
  stateVector: Uint8Array | null
  bindings: Map<number, string>
}

export interface SnapshotMeta {
  infos: UpdateInfo[]
  stateVector: Uint8Array
  bindings: ReadonlyMap<number, string>
}

/**
 * The bytes are written once, into one buffer of the exact size: a big document's pieces copied
 * through lib0's growing buffers touched twice its size of fresh memory on the event loop's
 * thread (~40 ms for 10 MiB on a VM whose page faults are slow). Only the small framing around
 * the pieces goes through encoders.
 */
export function encodeSnapshot(pieces: Uint8Array[], full: number, meta: SnapshotMeta): Uint8Array {
  const parts: Uint8Array[] = [framing((encoder) => {
    for (const byte of MAGIC) encoding.writeUint8(encoder, byte)
    encoding.writeUint8(encoder, 2)
    encoding.writeVarUint(encoder, full)
    encoding.writeVarUint(encoder, pieces.length)
  })]
  pieces.forEach((piece, i) => {
    parts.push(framing((encoder) => encoding.writeVarUint(encoder, piece.length)), piece, framing((encoder) => writeInfo(encoder, meta.infos[i]!)))
  })
  parts.push(framing((encoder) => {
    encoding.writeVarUint8Array(encoder, meta.stateVector)
    encoding.writeVarUint(encoder, meta.bindings.size)
    for (const [client, user] of meta.bindings) {
      encoding.writeVarUint(encoder, client)
      encoding.writeVarString(encoder, user)
    }
  }))
  return joined(parts)
}

function framing(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

function joined(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    bytes.set(part, at)
    at += part.length
  }
  return bytes
}

/** A version-1 snapshot (pieces only), as older servers and tools wrote them. */
export function encodeSnapshotV1(pieces: Uint8Array[], full = pieces.length): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const byte of MAGIC) encoding.writeUint8(encoder, byte)
  encoding.writeUint8(encoder, 1)
  encoding.writeVarUint(encoder, full)
  encoding.writeVarUint(encoder, pieces.length)
  for (const piece of pieces) encoding.writeVarUint8Array(encoder, piece)
  return encoding.toUint8Array(encoder)
}

/** Pieces are views into `bytes`. Throws DecodeError if a framed snapshot is damaged. */
export function decodeSnapshotParts(bytes: Uint8Array): SnapshotParts {
  const version = MAGIC.every((byte, i) => bytes[i] === byte) ? bytes[MAGIC.length] : undefined
  if (version !== undefined && version > 2) throw new UnknownFormatError(`snapshot format ${version} is newer than this release reads`)
  if (version !== 1 && version !== 2) return { pieces: [bytes], full: 1, infos: null, stateVector: null, bindings: new Map() }
  const reader = new BoundedReader(bytes)
  reader.skip(MAGIC.length + 1)
  const full = reader.varUint()
  const count = reader.count(1)
  const pieces: Uint8Array[] = []
  const infos: UpdateInfo[] = []
  for (let i = 0; i < count; i++) {
    pieces.push(reader.varBytes())
    if (version === 2) infos.push(readInfo(reader))
  }
  if (version === 1) return { pieces, full, infos: null, stateVector: null, bindings: new Map() }
  const stateVector = reader.varBytes()
  const bindings = new Map<number, string>()
  const bound = reader.count(2)
  for (let i = 0; i < bound; i++) bindings.set(reader.varUint(), reader.varString())
  return { pieces, full, infos, stateVector, bindings }
}

export function decodeSnapshot(bytes: Uint8Array): Uint8Array[] {
  return decodeSnapshotParts(bytes).pieces
}

function writeInfo(encoder: encoding.Encoder, info: UpdateInfo): void {
  encoding.writeVarUint(encoder, info.clients.size)
  for (const [client, [first, end]] of info.clients) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, first)
    encoding.writeVarUint(encoder, end)
  }
  encoding.writeVarUint(encoder, info.deleteSetStart)
}

function readInfo(reader: BoundedReader): UpdateInfo {
  const clients = new Map<number, [number, number]>()
  const count = reader.count(3)
  for (let i = 0; i < count; i++) clients.set(reader.varUint(), [reader.varUint(), reader.varUint()])
  return { clients, deleteSetStart: reader.varUint() }
}
