/**
 * The containers a room's content index knows (a root type by name, or the type an item holds,
 * with a map key or none), numbered in the order they were first met. A document has one per
 * map entry and per array it holds: about seven per stroke. Kept as columns of numbers, with
 * names interned once, instead of an object and a string key per container: a canvas's index was
 * mostly these (2.5-4x its encoded size in lookup keys, 1.5-2.4x in objects).
 */
import type { StructId } from '../wire/update-validator.ts'

/** Where items live: a root type by name, or the type held by the item `owner`; `key` for map entries. */
export interface Container {
  root: string | null
  owner: StructId | null
  key: string | null
}

/** `roots` column: a container held by an item (its owner columns say which). */
const OWNED = -1
/** `roots` column: neither root nor owned (the reserved containers). */
const NOWHERE = -2
/** `keys` and `next` columns: none. */
const NONE = -1
/**
 * An item's containers are found by walking a chain (a stroke's map holds about seven); a hostile
 * map with thousands of keys must not make every lookup walk them all: past this many, its
 * containers are found by name.
 */
const MAX_CHAIN = 32
/** Columns start this long and double: most loaded rooms are small, and thousands may be loaded. */
const INITIAL_CAPACITY = 8

export class ContainerTable {
  private roots = new Int32Array(INITIAL_CAPACITY)
  private keys = new Int32Array(INITIAL_CAPACITY)
  private ownerClients = new Float64Array(INITIAL_CAPACITY)
  private ownerClocks = new Float64Array(INITIAL_CAPACITY)
  /** The next container of the same owning item (a chain from `chains`). */
  private next = new Int32Array(INITIAL_CAPACITY)
  private count = 0
  /** Root names and map keys, each stored once. */
  private readonly names: string[] = []
  private readonly nameIds = new Map<string, number>()
  /** Owner client → owner clock → its newest container (the head of its chain). */
  private readonly chains = new Map<number, Map<number, number>>()
  /** Roots, and owned containers past an item's chain. */
  private readonly named = new Map<string, number>()

  get size(): number {
    return this.count
  }

  /** The container numbered `id`; throws for one not registered. */
  get(id: number): Container {
    if (!Number.isInteger(id) || id < 0 || id >= this.count) throw new Error(`no container ${id}`)
    const root = this.roots[id]!
    const key = this.keys[id]!
    return {
      root: root >= 0 ? this.names[root]! : null,
      owner: root === OWNED ? { client: this.ownerClients[id]!, clock: this.ownerClocks[id]! } : null,
      key: key >= 0 ? this.names[key]! : null,
    }
  }

  /** The number of the container (root or type item, key), or undefined when not registered. */
  find(parent: string | StructId, key: string | null): number | undefined {
    const keyId = key === null ? NONE : this.nameIds.get(key)
    if (keyId === undefined) return undefined // a key never met: no container has it
    if (typeof parent === 'string') return this.named.get(nameOf(parent, key))
    let walked = 0
    for (let id = this.chains.get(parent.client)?.get(parent.clock) ?? NONE; id !== NONE; id = this.next[id]!, walked++) {
      if (this.keys[id] === keyId) return id
    }
    return walked < MAX_CHAIN ? undefined : this.named.get(nameOf(parent, key))
  }

  /** Registers a container (the next number); the caller checked it is not registered yet. */
  add(container: Container): number {
    const id = this.count
    if (id === this.roots.length) this.grow()
    const parent = container.root ?? container.owner
    this.roots[id] = container.root !== null ? this.intern(container.root) : container.owner !== null ? OWNED : NOWHERE
    this.keys[id] = container.key === null ? -1 : this.intern(container.key)
    this.ownerClients[id] = container.owner?.client ?? 0
    this.ownerClocks[id] = container.owner?.clock ?? 0
    this.next[id] = NONE
    this.count++
    if (parent === null) return id // reserved: never looked up
    if (typeof parent === 'string') this.named.set(nameOf(parent, container.key), id)
    else this.chain(parent, id, container.key)
    return id
  }

  /** Puts an owned container at the head of its item's chain, or past a long chain, by name. */
  private chain(owner: StructId, id: number, key: string | null): void {
    let clocks = this.chains.get(owner.client)
    if (!clocks) this.chains.set(owner.client, clocks = new Map())
    const head = clocks.get(owner.clock) ?? NONE
    let length = 0
    for (let at = head; at !== NONE && length < MAX_CHAIN; at = this.next[at]!) length++
    if (length >= MAX_CHAIN) {
      this.named.set(nameOf(owner, key), id)
      return
    }
    this.next[id] = head
    clocks.set(owner.clock, id)
  }

  private intern(name: string): number {
    let id = this.nameIds.get(name)
    if (id === undefined) {
      id = this.names.length
      this.names.push(name)
      this.nameIds.set(name, id)
    }
    return id
  }

  private grow(): void {
    const size = this.roots.length * 2
    this.roots = grown(this.roots, new Int32Array(size))
    this.keys = grown(this.keys, new Int32Array(size))
    this.ownerClients = grown(this.ownerClients, new Float64Array(size))
    this.ownerClocks = grown(this.ownerClocks, new Float64Array(size))
    this.next = grown(this.next, new Int32Array(size))
  }
}

function grown<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from)
  return to
}

function nameOf(parent: string | StructId, key: string | null): string {
  return typeof parent === 'string' ? `r\u0000${parent}\u0000${key ?? '\u0001'}` : `t\u0000${parent.client}\u0000${parent.clock}\u0000${key ?? '\u0001'}`
}
