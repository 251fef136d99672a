/**
 * Structural validation of a Yjs V1 update before Yjs sees it. Walks the whole encoding the way
 * yjs 13 decodes it (structs per client, then the delete set), checking every declared count and
 * length against the bytes that remain, every content ref and type ref against the known set, and
 * nesting depth of `any` values. It allocates nothing proportional to declared numbers.
 *
 * It also tracks every struct's clock: an item whose origin, right origin or parent names its
 * own client at a clock not strictly before its own makes yjs dereference a struct that does not
 * exist (TypeError mid-transaction). Found by the fuzz test in test/collab/update-validator.test.ts.
 *
 * Known attack this stops: a sync frame of a few bytes declaring one client with 33,000,000
 * structs makes yjs 13 allocate `new Array(33e6)` (~264 MB) before reading a single struct.
 */
import { BoundedReader, DecodeError } from './bounded-reader.ts'

/** Optional observer of the walk (splitting updates, state vectors, content rules). */
export interface StructVisitor {
  /**
   * A struct of `client` covering clocks [clock, clock + length), at bytes [start, end). `skip`:
   * a skip range, which says only that these clocks are not in the update (it creates nothing).
   */
  struct?(client: number, clock: number, length: number, start: number, end: number, skip: boolean): void
  /** An item (not a GC or skip range), with what it points at and where its content lies. */
  item?(item: ItemStruct): void
  deleteSet?(start: number): void
  /** One range of the delete set: clocks [clock, clock + length) of `client`. */
  deleteRange?(client: number, clock: number, length: number): void
}

export interface StructId {
  client: number
  clock: number
}

/**
 * An item as encoded. Only an item with neither origin sets `parent` (a root type's name, or the
 * id of the item holding the parent type) and `parentSub`; any other takes both from its origin
 * (or, lacking one, its right origin) when Yjs integrates it.
 */
export interface ItemStruct {
  client: number
  clock: number
  length: number
  origin: StructId | null
  rightOrigin: StructId | null
  parent: string | StructId | null
  parentSub: string | null
  contentRef: number
  /** For type content: which type (see TYPE_REFS). */
  typeRef: number | null
  /** The content's bytes within the update (for reading values of `any` content). */
  contentStart: number
  contentEnd: number
}

export interface UpdateSummary {
  structs: number
  deletes: number
  /** Client ids that own structs in this update. */
  clients: number[]
}

const MAX_ANY_DEPTH = 64
const BIT6 = 0x20
const BIT7 = 0x40
const BIT8 = 0x80
const CONTENT_REF_MASK = 0x1f

export const CONTENT = {
  gc: 0,
  deleted: 1,
  json: 2,
  binary: 3,
  string: 4,
  embed: 5,
  format: 6,
  type: 7,
  any: 8,
  doc: 9,
  skip: 10,
} as const

/** yjs 13 type refs (ContentType). */
export const TYPE_REFS = { array: 0, map: 1, text: 2, xmlElement: 3, xmlFragment: 4, xmlHook: 5, xmlText: 6 } as const
const TYPE_REF = { xmlElement: TYPE_REFS.xmlElement, xmlHook: TYPE_REFS.xmlHook, max: TYPE_REFS.xmlText } as const

/** Throws DecodeError unless `update` is a well-formed V1 update. */
export function validateUpdateV1(update: Uint8Array, visitor?: StructVisitor): UpdateSummary {
  const reader = new BoundedReader(update)
  const summary: UpdateSummary = { structs: 0, deletes: 0, clients: [] }
  const clientCount = reader.count(3)
  for (let i = 0; i < clientCount; i++) readClientStructs(reader, summary, visitor)
  visitor?.deleteSet?.(reader.position)
  summary.deletes = readDeleteSet(reader, visitor)
  if (!reader.done) throw new DecodeError(`${reader.remaining} trailing bytes after update`)
  return summary
}

export function isEmptyUpdate(summary: UpdateSummary): boolean {
  return summary.structs === 0 && summary.deletes === 0
}

/** The client whose structs are being read, and the clock of the next one. */
interface Cursor {
  client: number
  clock: number
}

function readClientStructs(reader: BoundedReader, summary: UpdateSummary, visitor?: StructVisitor): void {
  const structCount = reader.count(1)
  const cursor: Cursor = { client: readClientId(reader), clock: reader.varUint() }
  summary.clients.push(cursor.client)
  for (let i = 0; i < structCount; i++) {
    const start = reader.position
    const clock = cursor.clock
    const skip = ((reader.peek() ?? 0) & CONTENT_REF_MASK) === CONTENT.skip
    const length = readStruct(reader, cursor, visitor)
    cursor.clock += length
    if (cursor.clock > Number.MAX_SAFE_INTEGER) throw new DecodeError('clock out of range')
    visitor?.struct?.(cursor.client, clock, length, start, reader.position, skip)
  }
  summary.structs += structCount
}

function readClientId(reader: BoundedReader): number {
  const client = reader.varUint()
  if (client > 0xffffffff) throw new DecodeError('client id out of range')
  return client
}

/** Reads one struct; returns its length in clock units. */
function readStruct(reader: BoundedReader, cursor: Cursor, visitor?: StructVisitor): number {
  const info = reader.uint8()
  const ref = info & CONTENT_REF_MASK
  if (ref === CONTENT.gc || ref === CONTENT.skip) return readLength(reader)
  const origin = info & BIT8 ? readId(reader, cursor) : null
  const rightOrigin = info & BIT7 ? readId(reader, cursor) : null
  let parent: string | StructId | null = null
  let parentSub: string | null = null
  if ((info & (BIT7 | BIT8)) === 0) {
    parent = reader.varUint() === 1 ? reader.varString() : readId(reader, cursor) // a root type by name, or an item by id
    if (info & BIT6) parentSub = reader.varString() // map key
  }
  const contentStart = reader.position
  const typeRef = ref === CONTENT.type ? reader.varUint() : null
  const length = readContent(reader, ref, typeRef)
  visitor?.item?.({ client: cursor.client, clock: cursor.clock, length, origin, rightOrigin, parent, parentSub, contentRef: ref, typeRef, contentStart, contentEnd: reader.position })
  return length
}

/** An id a struct points at; references into its own client must point backwards. */
function readId(reader: BoundedReader, cursor: Cursor): StructId {
  const client = readClientId(reader)
  const clock = reader.varUint()
  if (client === cursor.client && clock >= cursor.clock) throw new DecodeError('struct refers forward into its own client')
  return { client, clock }
}

function readLength(reader: BoundedReader): number {
  const length = reader.varUint()
  if (length === 0 || length > 0x7fffffff) throw new DecodeError('struct length out of range')
  return length
}

/** Reads item content (type content: after its type ref); returns its length as yjs counts it. */
function readContent(reader: BoundedReader, ref: number, typeRef: number | null): number {
  switch (ref) {
    case CONTENT.deleted: return readLength(reader)
    case CONTENT.json: return readList(reader, () => readJsonString(reader))
    case CONTENT.binary: reader.varBytes(); return 1
    case CONTENT.string: return nonEmpty(reader.varString().length)
    case CONTENT.embed: readJsonString(reader); return 1
    case CONTENT.format: reader.varString(); readJsonString(reader); return 1
    case CONTENT.type: readTypeRefTail(reader, typeRef ?? -1); return 1
    case CONTENT.any: return readList(reader, () => readAny(reader, 0))
    case CONTENT.doc: reader.varString(); readAny(reader, 0); return 1
    default: throw new DecodeError(`unknown content ref ${ref}`)
  }
}

function readList(reader: BoundedReader, readItem: () => void): number {
  const count = nonEmpty(reader.count(1))
  for (let i = 0; i < count; i++) readItem()
  return count
}

/** yjs never encodes empty content; a zero-length item would break clock arithmetic. */
function nonEmpty(length: number): number {
  if (length === 0) throw new DecodeError('empty item content')
  return length
}

function readJsonString(reader: BoundedReader): void {
  const json = reader.varString()
  if (json === 'undefined') return // yjs writes undefined this way
  try {
    JSON.parse(json)
  } catch {
    throw new DecodeError('invalid JSON content')
  }
}

function readTypeRefTail(reader: BoundedReader, typeRef: number): void {
  if (typeRef < 0 || typeRef > TYPE_REF.max) throw new DecodeError(`unknown type ref ${typeRef}`)
  if (typeRef === TYPE_REF.xmlElement || typeRef === TYPE_REF.xmlHook) reader.varString()
}

/** lib0 `readAny`, bounded in depth. */
function readAny(reader: BoundedReader, depth: number): void {
  if (depth > MAX_ANY_DEPTH) throw new DecodeError('value nested too deeply')
  const tag = reader.uint8()
  switch (tag) {
    case 127: case 126: case 121: case 120: return // undefined, null, false, true
    case 125: reader.varIntSkip(); return
    case 124: reader.skip(4); return // float32
    case 123: case 122: reader.skip(8); return // float64, bigint64
    case 119: reader.varString(); return
    case 118: { const n = reader.count(2); for (let i = 0; i < n; i++) { reader.varString(); readAny(reader, depth + 1) } return }
    case 117: { const n = reader.count(1); for (let i = 0; i < n; i++) readAny(reader, depth + 1); return }
    case 116: reader.varBytes(); return
    default: throw new DecodeError(`unknown value tag ${tag}`)
  }
}

function readDeleteSet(reader: BoundedReader, visitor?: StructVisitor): number {
  let ranges = 0
  const clientCount = reader.count(2)
  for (let i = 0; i < clientCount; i++) {
    const client = readClientId(reader)
    const rangeCount = reader.count(2)
    for (let j = 0; j < rangeCount; j++) {
      const clock = reader.varUint()
      const length = readLength(reader) // yjs' pending-delete encoder throws on 0
      if (clock + length > Number.MAX_SAFE_INTEGER) throw new DecodeError('delete range out of range')
      visitor?.deleteRange?.(client, clock, length)
    }
    ranges += rangeCount
  }
  return ranges
}
