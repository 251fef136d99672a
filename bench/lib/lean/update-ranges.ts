/**
 * What a lean reader needs from a delivered frame, without applying it: the clock range each
 * client's structs cover in the update it carries. Reads the message type and sync type, then
 * walks the update's struct headers, skipping content by its declared sizes; the delete set is
 * never read. Every read is checked against the bytes that remain, so a malformed frame throws
 * instead of reading past the end.
 *
 * Why ranges and not just the first struct's id: a server that applies several updates in one
 * transaction (ours batches a socket's updates per log append) relays them as one update whose
 * first struct is the first edit's; the range tells which later edits rode along.
 */

export class FrameFormatError extends Error {
  override name = 'FrameFormatError'
}

/** Called once per client section: structs of `client` cover clocks [start, end). */
export type RangeSink = (client: number, start: number, end: number) => void

const MESSAGE_SYNC = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
const MAX_ANY_DEPTH = 64
const CONTENT_REF_MASK = 0x1f
const HAS_LEFT_ORIGIN = 0x80
const HAS_RIGHT_ORIGIN = 0x40
const HAS_PARENT_SUB = 0x20

/** A cursor over one frame; positions only move forward, and never past `end`. */
class Cursor {
  pos: number
  readonly bytes: Uint8Array
  readonly end: number

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.bytes = bytes
    this.pos = start
    this.end = end
  }

  byte(): number {
    if (this.pos >= this.end) throw new FrameFormatError('unexpected end of frame')
    return this.bytes[this.pos++] as number
  }

  /** lib0 varuint, at most 8 bytes (clocks and client ids fit in far fewer). */
  varUint(): number {
    let value = 0
    let multiplier = 1
    for (let i = 0; i < 8; i++) {
      const b = this.byte()
      value += (b & 0x7f) * multiplier
      if (b < 0x80) return value
      multiplier *= 128
    }
    throw new FrameFormatError('varuint too long')
  }

  skip(length: number): void {
    if (length > this.end - this.pos) throw new FrameFormatError('declared length exceeds frame')
    this.pos += length
  }

  skipVarBytes(): void {
    this.skip(this.varUint())
  }

  /** A lib0 var string; returns its length in UTF-16 code units (what Yjs counts) without decoding. */
  varStringUnits(): number {
    const length = this.varUint()
    this.skip(length)
    let units = 0
    for (let i = this.pos - length; i < this.pos; i++) {
      const b = this.bytes[i] as number
      if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1 // a lead byte; 4-byte sequences are surrogate pairs
    }
    return units
  }
}

/**
 * Reads a y-websocket frame payload (optionally after a Hocuspocus document-name prefix). Returns
 * false for frames that carry no document update (sync step 1, awareness, auth, status, ...);
 * otherwise reports every client's clock range to `sink` and returns true.
 */
export function readUpdateRanges(payload: Uint8Array, start: number, end: number, prefixed: boolean, sink: RangeSink): boolean {
  const cursor = new Cursor(payload, start, end)
  if (prefixed) cursor.skipVarBytes()
  if (cursor.varUint() !== MESSAGE_SYNC) return false
  const syncType = cursor.varUint()
  if (syncType !== SYNC_UPDATE && syncType !== SYNC_STEP2) return false
  const length = cursor.varUint()
  if (length > cursor.end - cursor.pos) throw new FrameFormatError('update longer than frame')
  const update = new Cursor(payload, cursor.pos, cursor.pos + length)
  const clients = update.varUint()
  for (let i = 0; i < clients; i++) readClientSection(update, sink)
  return true
}

function readClientSection(cursor: Cursor, sink: RangeSink): void {
  const structs = cursor.varUint()
  const client = cursor.varUint()
  const start = cursor.varUint()
  let clock = start
  for (let i = 0; i < structs; i++) clock += structLength(cursor)
  sink(client, start, clock)
}

/** Skips one struct and returns its length in clock units. */
function structLength(cursor: Cursor): number {
  const info = cursor.byte()
  const ref = info & CONTENT_REF_MASK
  if (ref === 0 || ref === 10) return cursor.varUint() // GC, Skip
  if (info & HAS_LEFT_ORIGIN) skipId(cursor)
  if (info & HAS_RIGHT_ORIGIN) skipId(cursor)
  if ((info & (HAS_LEFT_ORIGIN | HAS_RIGHT_ORIGIN)) === 0) {
    if (cursor.varUint() === 1) cursor.skipVarBytes() // parent is a root type, by name
    else skipId(cursor) // parent is an item, by id
    if (info & HAS_PARENT_SUB) cursor.skipVarBytes()
  }
  return contentLength(cursor, ref)
}

function skipId(cursor: Cursor): void {
  cursor.varUint()
  cursor.varUint()
}

function contentLength(cursor: Cursor, ref: number): number {
  switch (ref) {
    case 1: return cursor.varUint() // deleted
    case 2: return repeat(cursor, () => cursor.skipVarBytes()) // JSON strings
    case 3: cursor.skipVarBytes(); return 1 // binary
    case 4: return cursor.varStringUnits() // string
    case 5: cursor.skipVarBytes(); return 1 // embed
    case 6: cursor.skipVarBytes(); cursor.skipVarBytes(); return 1 // format
    case 7: skipTypeRef(cursor); return 1 // type
    case 8: return repeat(cursor, () => skipAny(cursor, 0)) // any
    case 9: cursor.skipVarBytes(); skipAny(cursor, 0); return 1 // subdocument
    default: throw new FrameFormatError(`unknown content ref ${ref}`)
  }
}

/** Reads a count, then runs `skipOne` that many times; every item takes at least a byte. */
function repeat(cursor: Cursor, skipOne: () => void): number {
  const count = cursor.varUint()
  if (count > cursor.end - cursor.pos) throw new FrameFormatError('declared count exceeds frame')
  for (let i = 0; i < count; i++) skipOne()
  return count
}

function skipTypeRef(cursor: Cursor): void {
  const typeRef = cursor.varUint()
  if (typeRef === 3 || typeRef === 5) cursor.skipVarBytes() // XmlElement, XmlHook: node name
}

/** lib0 `readAny`, skipped. */
function skipAny(cursor: Cursor, depth: number): void {
  if (depth > MAX_ANY_DEPTH) throw new FrameFormatError('value nested too deeply')
  const tag = cursor.byte()
  switch (tag) {
    case 127: case 126: case 121: case 120: return // undefined, null, false, true
    case 125: skipVarInt(cursor); return
    case 124: cursor.skip(4); return
    case 123: case 122: cursor.skip(8); return
    case 119: case 116: cursor.skipVarBytes(); return // string, Uint8Array
    case 118: repeat(cursor, () => { cursor.skipVarBytes(); skipAny(cursor, depth + 1) }); return
    case 117: repeat(cursor, () => skipAny(cursor, depth + 1)); return
    default: throw new FrameFormatError(`unknown value tag ${tag}`)
  }
}

function skipVarInt(cursor: Cursor): void {
  for (let i = 0; i < 8; i++) if (cursor.byte() < 0x80) return
  throw new FrameFormatError('varint too long')
}
