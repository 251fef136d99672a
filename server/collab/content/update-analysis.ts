/**
 * Reads an update against the room's structural index, the way Yjs would integrate it, without a
 * Y.Doc: which structs are new (Yjs ignores clocks it already has), which container each new item
 * lands in (its explicit parent, else its origin's, else its right origin's; garbage if either
 * neighbour is garbage), which types it creates, and what it deletes.
 *
 * An update that needs structs the room does not have yet (a gap in a client's clocks, or an item
 * next to or inside an unknown item) is reported as `missing`: Yjs would park it as pending, and
 * content rules cannot be checked before its containers are known.
 *
 * Linear in the update's size whatever order its dependencies come in (one resolution per item,
 * an explicit stack, no recursion); a dependency cycle, which Yjs never writes, is invalid data.
 */
import { DecodeError } from '../wire/bounded-reader.ts'
import { validateUpdateV1, type ItemStruct, type StructId, type UpdateSummary } from '../wire/update-validator.ts'
import type { UpdateInfo } from '../sync/update-info.ts'
import { RangeMap } from './range-map.ts'
import { COLLECTED, UNPLACED, type StructIndex, type TypeItem } from './struct-index.ts'

export interface NewStruct {
  /** The update it comes from (item content is read from it). */
  bytes: Uint8Array
  client: number
  clock: number
  length: number
  /** Leading clocks the room already has (Yjs ignores them). */
  offset: number
  /** Null for a garbage or skip range. */
  item: ItemStruct | null
  /** Where it lands (COLLECTED for garbage); set by resolution. */
  container: number
}

export interface DeleteRange {
  client: number
  clock: number
  length: number
}

export interface ReadyUpdate {
  status: 'ready'
  summary: UpdateSummary
  /** What the whole update covers (for serving it later). */
  info: UpdateInfo
  structs: NewStruct[]
  deletes: DeleteRange[]
  /** Types the update creates, by `client:clock`. */
  types: Map<string, TypeItem>
}

export interface MissingUpdate {
  status: 'missing'
  missing: StructId
  /** Structs of the update that wait for it (directly or through each other). */
  blocked: StructId[]
  summary: UpdateSummary
  /** Clients with structs the room does not have (for identity checks before waiting). */
  clients: number[]
}

export type Analysis = ReadyUpdate | MissingUpdate

const UNRESOLVED = -1

/** An id nobody has, and the structs of the update waiting for it. */
interface Waiting {
  missing: StructId
  blocked: StructId[]
}

interface Walked {
  bytes: Uint8Array
  summary: UpdateSummary
  info: UpdateInfo
  all: Array<{ client: number; clock: number; length: number; item: ItemStruct | null; skip: boolean }>
  deletes: DeleteRange[]
}

/** Reads an update from a client: anything it depends on that nobody has makes it `missing`. Throws DecodeError for malformed updates. */
export function analyzeUpdate(update: Uint8Array, index: StructIndex): Analysis {
  const walked = walk(update)
  const fresh = newStructs([walked], index, true)
  if ('missing' in fresh) return { status: 'missing', ...fresh.missing, summary: walked.summary, clients: clientsBeyond(walked, index) }
  const resolution = new Resolution(fresh.structs, index, false)
  const missing = resolution.run()
  if (missing) return { status: 'missing', ...missing, summary: walked.summary, clients: clientsBeyond(walked, index) }
  return { status: 'ready', summary: walked.summary, info: walked.info, structs: fresh.structs, deletes: walked.deletes, types: resolution.types }
}

/**
 * Reads updates that are already part of the document (a snapshot's pieces, other nodes' log
 * entries), together, in order: pieces may point at each other in any direction. Whatever still
 * cannot be placed lands in UNPLACED rather than holding anything up.
 */
export function analyzeTrusted(updates: Uint8Array[], index: StructIndex): ReadyUpdate {
  const walked = updates.map(walk)
  const fresh = newStructs(walked, index, false)
  if ('missing' in fresh) throw new Error('unreachable: trusted reads never miss')
  const resolution = new Resolution(fresh.structs, index, true)
  resolution.run()
  const summary = { structs: 0, deletes: 0, clients: [] as number[] }
  for (const w of walked) {
    summary.structs += w.summary.structs
    summary.deletes += w.summary.deletes
  }
  const info = { clients: new Map<number, [number, number]>(), deleteSetStart: 0 } // not one update: not served as one
  return { status: 'ready', summary, info, structs: fresh.structs, deletes: walked.flatMap((w) => w.deletes), types: resolution.types }
}

export function typeKey(id: StructId): string {
  return `${id.client}:${id.clock}`
}

function walk(bytes: Uint8Array): Walked {
  const update = bytes
  const all: Walked['all'] = []
  const deletes: DeleteRange[] = []
  const info: UpdateInfo = { clients: new Map(), deleteSetStart: update.length }
  let pending: ItemStruct | null = null
  const summary = validateUpdateV1(update, {
    item(item) { pending = item },
    struct(client, clock, length, _start, _end, skip) {
      all.push({ client, clock, length, item: pending, skip })
      pending = null
      if (skip) return // creates nothing: not part of what the update covers
      const range = info.clients.get(client)
      if (range) range[1] = Math.max(range[1], clock + length)
      else info.clients.set(client, [clock, clock + length])
    },
    deleteSet(start) { info.deleteSetStart = start },
    deleteRange(client, clock, length) { deletes.push({ client, clock, length }) },
  })
  return { bytes, summary, info, all, deletes }
}

function clientsBeyond(walked: Walked, index: StructIndex): number[] {
  return [...new Set(walked.all.filter((s) => s.clock + s.length > index.state(s.client)).map((s) => s.client))]
}

/**
 * The structs (or parts) the room lacks, in order; strictly, the first clock missing before them.
 * Trusted reads take structs after a gap as they come (Yjs would hold them until it closes).
 */
function newStructs(walkedUpdates: Walked[], index: StructIndex, strict: boolean): { structs: NewStruct[] } | { missing: Waiting } {
  const structs: NewStruct[] = []
  const seen = new Map<number, RangeMap>()
  for (const walked of walkedUpdates) {
    for (const struct of walked.all) {
      const start = firstUnknown(struct, index, seen)
      const known = Math.max(index.state(struct.client), seen.get(struct.client)?.end ?? 0)
      if (strict && struct.clock > known) return { missing: { missing: { client: struct.client, clock: known }, blocked: [{ client: struct.client, clock: struct.clock }] } }
      const end = struct.clock + struct.length
      if (struct.skip || start >= end) continue
      let ranges = seen.get(struct.client)
      if (!ranges) seen.set(struct.client, ranges = new RangeMap())
      ranges.add(start, end, 0)
      structs.push({ bytes: walked.bytes, client: struct.client, clock: struct.clock, length: struct.length, offset: start - struct.clock, item: struct.item, container: struct.item ? UNRESOLVED : COLLECTED })
    }
  }
  return { structs }
}

/** The first clock of a struct that neither the index nor an earlier struct of this read has. */
function firstUnknown(struct: { client: number; clock: number; length: number }, index: StructIndex, seen: Map<number, RangeMap>): number {
  const end = struct.clock + struct.length
  const seenEnd = seen.get(struct.client)?.end ?? 0
  if (seenEnd <= struct.clock && index.state(struct.client) <= struct.clock) return struct.clock // the usual case: new, in order
  const fromIndex = index.unknownParts(struct.client, struct.clock, struct.length)[0]?.[0] ?? end
  const fromSeen = seen.get(struct.client)?.uncovered(fromIndex, end)[0]?.[0] ?? fromIndex
  return fromSeen
}

/** Resolves every new item's container: each once, dependencies first, on an explicit stack. */
class Resolution {
  readonly types = new Map<string, TypeItem>()
  private readonly byClient = new Map<number, NewStruct[]>()
  private readonly structs: NewStruct[]
  private readonly index: StructIndex
  private readonly visiting = new Set<NewStruct>()
  private readonly trusted: boolean

  constructor(structs: NewStruct[], index: StructIndex, trusted: boolean) {
    this.structs = structs
    this.index = index
    this.trusted = trusted
    for (const struct of structs) {
      const list = this.byClient.get(struct.client) ?? []
      list.push(struct)
      this.byClient.set(struct.client, list)
    }
    for (const list of this.byClient.values()) list.sort((a, b) => a.clock - b.clock) // trusted reads may come in any order
  }

  /** Resolves all; returns an id the update depends on but nobody has, or null (trusted: never). */
  run(): Waiting | null {
    for (const struct of this.structs) {
      if (struct.container !== UNRESOLVED) continue
      const missing = this.resolveFrom(struct)
      if (missing) return missing
    }
    return null
  }

  private resolveFrom(start: NewStruct): Waiting | null {
    const stack = [start]
    while (stack.length > 0) {
      const struct = stack.at(-1)!
      const step = this.tryResolve(struct)
      if (step === 'done') {
        this.visiting.delete(struct)
        stack.pop()
      } else if ('missing' in step || this.visiting.has(step.needs)) {
        if (!this.trusted) {
          if ('missing' in step) return { missing: step.missing, blocked: stack.map((waiting) => ({ client: waiting.client, clock: waiting.clock + waiting.offset })) }
          throw new DecodeError('items depend on each other in a cycle')
        }
        this.placeUnresolvable(stack)
      } else {
        this.visiting.add(struct)
        stack.push(step.needs)
      }
    }
    return null
  }

  /** Trusted content that cannot be placed: it and everything waiting on it go to UNPLACED. */
  private placeUnresolvable(stack: NewStruct[]): void {
    for (const struct of stack.splice(0)) {
      struct.container = UNPLACED
      this.visiting.delete(struct)
    }
  }

  /** Resolves `struct` if its dependencies are; else names the local struct it waits for. */
  private tryResolve(struct: NewStruct): 'done' | { needs: NewStruct } | { missing: StructId } {
    const item = struct.item!
    const refs = item.origin || item.rightOrigin ? [item.origin, item.rightOrigin] : [item.parent]
    const found: number[] = []
    for (const ref of refs) {
      if (ref === null) continue
      const at = typeof ref === 'string' ? this.index.containerFor(ref, item.parentSub) : this.lookup(ref, ref === item.parent ? item.parentSub : undefined)
      if (typeof at !== 'number') return at
      found.push(at)
    }
    struct.container = found.includes(COLLECTED) ? COLLECTED : found[0]!
    if (item.typeRef !== null && struct.container !== COLLECTED) this.types.set(typeKey(item), { typeRef: item.typeRef, container: struct.container })
    return 'done'
  }

  /**
   * A neighbour's container, or (with `parentKey`) the container inside the type held at `id`:
   * from the index, or from a struct of this update (which may need resolving first).
   */
  private lookup(id: StructId, parentKey?: string | null): number | { needs: NewStruct } | { missing: StructId } {
    const local = this.localAt(id)
    if (local && local.container === UNRESOLVED) return { needs: local }
    const container = local ? local.container : this.index.containerAt(id)
    if (container === undefined) return { missing: id }
    if (parentKey === undefined || container === COLLECTED) return container
    const type = this.types.get(typeKey(id)) ?? this.index.typeAt(id)
    return type ? this.index.containerFor(id, parentKey) : COLLECTED // a parent that is not a type: Yjs discards the item
  }

  private localAt(id: StructId): NewStruct | undefined {
    const list = this.byClient.get(id.client)
    if (!list) return undefined
    let low = 0
    let high = list.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (list[mid]!.clock + list[mid]!.length <= id.clock) low = mid + 1
      else high = mid
    }
    const struct = list[low]
    return struct && struct.clock + struct.offset <= id.clock && id.clock < struct.clock + struct.length ? struct : undefined
  }
}
