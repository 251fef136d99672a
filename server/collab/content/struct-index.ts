/**
 * What a room knows of its document's structure, without a Y.Doc: for every struct id, the
 * container its item lives in (a root type, or a type held by another item, with a map key or
 * none); which items hold types; what is deleted; and which user each Yjs client id is bound to.
 * Content rules (canvas-rules.ts, chat-rules.ts) are checked against this, on update bytes.
 *
 * It is small next to the document: ranges merge per client and container, so a stroke drawn
 * point by point costs a few ranges, whatever its number of points.
 */
import type { StructId } from '../wire/update-validator.ts'
import { ContainerTable, type Container } from './container-table.ts'
import { RangeMap } from './range-map.ts'

export type { Container }

/** An item holding a type, and the container that item itself lives in. */
export interface TypeItem {
  typeRef: number
  container: number
}

/**
 * The container of garbage-collected ranges. Yjs turns an item into garbage when a neighbour it
 * was inserted next to, or its parent, is garbage: whatever is written there is discarded.
 */
export const COLLECTED = 0
/** The container of trusted content whose place could not be worked out (no rule allows writing there). */
export const UNPLACED = 1
const DELETED_TAG = 1

type RangeArrays = [number[], number[], number[]]

/**
 * A part of the index as plain data, for passing between threads: a big document's index goes
 * in many small parts, each restored in its own event-loop turn (one part is a few milliseconds).
 */
export type IndexPart =
  | { kind: 'containers'; first: number; containers: Container[] }
  | { kind: 'placed' | 'deleted'; ranges: Array<[number, RangeArrays]> }
  | { kind: 'types'; types: Array<[number, Array<[number, TypeItem]>]> }
  | { kind: 'bindings'; bindings: Array<[number, string]> }

export class StructIndex {
  private readonly containers = withReserved(new ContainerTable())
  private readonly placed = new Map<number, RangeMap>()
  private readonly deleted = new Map<number, RangeMap>()
  /** Per client, per clock, an item holding a type: its type ref and container, packed in one number. */
  private readonly types = new Map<number, Map<number, number>>()
  /** Yjs client id → the user who first wrote with it (for good). */
  readonly bindings = new Map<number, string>()

  /** Everything known, in parts of about `size` items each, to be restored in order by `restore`. */
  toParts(size: number): IndexPart[] {
    const parts: IndexPart[] = []
    for (let first = UNPLACED + 1; first < this.containers.size; first += size) {
      const containers: Container[] = []
      for (let id = first; id < Math.min(first + size, this.containers.size); id++) containers.push(this.containers.get(id))
      parts.push({ kind: 'containers', first, containers })
    }
    parts.push(...rangeParts('placed', this.placed, size), ...rangeParts('deleted', this.deleted, size))
    parts.push(...inParts(this.types, size, (clocks) => sliceable([...clocks].map(([clock, type]) => [clock, unpackType(type)] as [number, TypeItem])), (types) => ({ kind: 'types', types })))
    const bindings = [...this.bindings]
    for (let from = 0; from < bindings.length; from += size) parts.push({ kind: 'bindings', bindings: bindings.slice(from, from + size) })
    return parts
  }

  /** Takes one part of another index's `parts`, in their order. */
  restore(part: IndexPart): void {
    switch (part.kind) {
      case 'containers': return this.restoreContainers(part.first, part.containers)
      case 'placed': for (const [client, arrays] of part.ranges) rangesOf(this.placed, client).appendArrays(arrays); return
      case 'deleted': for (const [client, arrays] of part.ranges) rangesOf(this.deleted, client).appendArrays(arrays); return
      case 'types':
        for (const [client, clocks] of part.types) for (const [clock, type] of clocks) this.addType({ client, clock }, type)
        return
      case 'bindings': for (const [client, user] of part.bindings) this.bind(client, user)
    }
  }

  private restoreContainers(first: number, containers: Container[]): void {
    if (first !== this.containers.size) throw new Error(`index part out of order: containers from ${first}, expected ${this.containers.size}`)
    for (const container of containers) this.containers.add(container)
  }

  /** The next clock expected from `client` (everything before it is known). */
  state(client: number): number {
    return this.placed.get(client)?.end ?? 0
  }

  stateVector(): Map<number, number> {
    const vector = new Map<number, number>()
    for (const [client, ranges] of this.placed) vector.set(client, ranges.end)
    return vector
  }

  /** The container of the item holding `id`, or undefined when that id is not known. */
  containerAt(id: StructId): number | undefined {
    return this.placed.get(id.client)?.tagAt(id.clock)
  }

  container(id: number): Container {
    return this.containers.get(id)
  }

  /** The id of the container (root or type item, key), registering it on first use. */
  containerFor(parent: string | StructId, key: string | null): number {
    return this.containers.find(parent, key) ?? this.containers.add(typeof parent === 'string' ? { root: parent, owner: null, key } : { root: null, owner: { client: parent.client, clock: parent.clock }, key })
  }

  typeAt(id: StructId): TypeItem | undefined {
    const type = this.types.get(id.client)?.get(id.clock)
    return type === undefined ? undefined : unpackType(type)
  }

  /** Every clock of `[clock, clock + length)` of `client` is deleted. */
  isDeleted(client: number, clock: number, length = 1): boolean {
    const ranges = this.deleted.get(client)
    return ranges !== undefined && ranges.uncovered(clock, clock + length).length === 0
  }

  /** The parts of a range that are not deleted yet. */
  undeleted(client: number, clock: number, length: number): Array<[number, number]> {
    const ranges = this.deleted.get(client)
    return ranges ? ranges.uncovered(clock, clock + length) : [[clock, clock + length]]
  }

  /** The parts of a range of `client` the index does not know. */
  unknownParts(client: number, clock: number, length: number): Array<[number, number]> {
    return this.placed.get(client)?.uncovered(clock, clock + length) ?? [[clock, clock + length]]
  }

  /** The known parts of a range with their containers (unknown parts are left out). */
  placedParts(client: number, clock: number, length: number): Array<[number, number, number]> {
    return this.placed.get(client)?.covered(clock, clock + length) ?? []
  }

  place(client: number, start: number, end: number, container: number): void {
    rangesOf(this.placed, client).add(start, end, container)
  }

  addType(id: StructId, type: TypeItem): void {
    let clocks = this.types.get(id.client)
    if (!clocks) this.types.set(id.client, clocks = new Map())
    if (!clocks.has(id.clock)) clocks.set(id.clock, packType(type))
  }

  markDeleted(client: number, start: number, end: number): void {
    rangesOf(this.deleted, client).add(start, end, DELETED_TAG)
  }

  /** Binds a client id to a user unless it is bound already (the first writer keeps it). */
  bind(client: number, user: string): void {
    if (user !== '' && !this.bindings.has(client)) this.bindings.set(client, user)
  }
}

/** COLLECTED and UNPLACED: containers no item is looked up in. */
function withReserved(table: ContainerTable): ContainerTable {
  while (table.size <= UNPLACED) table.add({ root: null, owner: null, key: null })
  return table
}

/** Type refs are small (Yjs has 7) and container numbers below 2^32: one number holds both. */
const TYPE_SHIFT = 2 ** 32

function packType({ typeRef, container }: TypeItem): number {
  return typeRef * TYPE_SHIFT + container
}

function unpackType(type: number): TypeItem {
  return { typeRef: Math.floor(type / TYPE_SHIFT), container: type % TYPE_SHIFT }
}

/** A client's ranges, a bounded number per part (one client may hold most of a document). */
function rangeParts(kind: 'placed' | 'deleted', map: Map<number, RangeMap>, size: number): Generator<IndexPart> {
  return inParts(map, size, (ranges) => ranges, (ranges) => ({ kind, ranges }))
}

interface Sliceable<Items> {
  readonly size: number
  slice(from: number, count: number): Items
}

function sliceable<T>(list: T[]): Sliceable<T[]> {
  return { size: list.length, slice: (from, count) => list.slice(from, from + count) }
}

/** Entries of `map` cut into parts of about `size` items, one entry's items split where needed. */
function* inParts<V, Items>(
  map: Map<number, V>,
  size: number,
  itemsOf: (value: V) => Sliceable<Items>,
  part: (entries: Array<[number, Items]>) => IndexPart,
): Generator<IndexPart> {
  let entries: Array<[number, Items]> = []
  let weight = 0
  for (const [client, value] of map) {
    const items = itemsOf(value)
    for (let from = 0; from === 0 || from < items.size; from += size) {
      const count = Math.min(size, items.size - from)
      entries.push([client, items.slice(from, count)])
      weight += 1 + count
      if (weight < size) continue
      yield part(entries)
      entries = []
      weight = 0
    }
  }
  if (entries.length > 0) yield part(entries)
}

function rangesOf(map: Map<number, RangeMap>, client: number): RangeMap {
  let ranges = map.get(client)
  if (!ranges) map.set(client, ranges = new RangeMap())
  return ranges
}
