/**
 * The formats nodes exchange and store, by release generation, and how a node picks what to send.
 *
 * Every message between nodes (presence relay frames and heartbeats, presence queries and
 * answers, access events, log records) and every stored format (snapshots, and the version
 * states built from them) carries a version. A generation is what one release reads and can
 * write of each kind. A node sends, of each kind, the newest version it can write that every
 * live node reads (the others publish what they read in the registry, format-registry.ts), so a
 * rolling upgrade never hands a node a message it cannot read; once the last old node is gone the
 * newer format takes over by itself.
 *
 * Rules that keep this working release after release:
 * - a release reads every version of every kind an earlier release wrote (stored data outlives
 *   releases; log records and snapshots written years ago still load);
 * - a new version of a kind is added here with a new generation, and is written only once every
 *   live node reads it;
 * - a message of a version this node does not read is dropped and counted
 *   (`collab_wire_dropped_total`), never parsed as something else;
 * - kinds are added, never removed: a registry entry is read by the kinds the reader knows, and
 *   one missing a known kind is taken for junk (its node would be invisible).
 *
 * Generation 1 is every release before this registry existed (up to 2026-12-06). It publishes
 * nothing in the registry; other nodes learn of it by hearing its unversioned heartbeats and
 * frames (format-negotiator.ts).
 */

/** What a version number describes: a message between nodes, or a stored format. */
export const WIRE_KINDS = ['presence', 'access', 'record', 'snapshot'] as const
export type WireKind = (typeof WIRE_KINDS)[number]

export type Versions = Readonly<Record<WireKind, readonly number[]>>

export interface Generation {
  readonly generation: number
  /** Versions of each kind this release reads. */
  readonly reads: Versions
  /** Versions of each kind this release can write (each one it also reads). */
  readonly writes: Versions
}

/**
 * presence: 1 = `[kind][sender id][payload]` with no version (kinds: update, query, answer; a
 *   heartbeat is the bare node id); 2 = the versioned envelope of relay-frame.ts, same payloads.
 * access: 1 = JSON `{node, event}`; 2 = `{v: 2, node, event}`.
 * record: 1 = "YLR1" (no tag), 2 = "YLR2" (record-codec.ts; bare updates from before records are read too).
 * snapshot: 1 = "YSNP" v1 (pieces), 2 = "YSNP" v2 (pieces, coverage, state vector, bindings)
 *   (snapshot-codec.ts; also the bytes of every kept version and its chunks).
 */
export const GENERATIONS: readonly Generation[] = [
  {
    generation: 1,
    reads: { presence: [1], access: [1], record: [1, 2], snapshot: [1, 2] },
    writes: { presence: [1], access: [1], record: [2], snapshot: [2] },
  },
  {
    generation: 2,
    reads: { presence: [1, 2], access: [1, 2], record: [1, 2], snapshot: [1, 2] },
    writes: { presence: [1, 2], access: [1, 2], record: [2], snapshot: [2] },
  },
]

export const CURRENT_GENERATION = GENERATIONS.length
/** The releases before the registry: known by their unversioned messages, never by an entry. */
export const LEGACY_GENERATION = 1

export function generation(number: number): Generation {
  const found = GENERATIONS[number - 1]
  if (!found) throw new RangeError(`no wire generation ${number} (this release knows 1..${CURRENT_GENERATION})`)
  return found
}

export type Sending = Readonly<Record<WireKind, number>>

/**
 * Per kind, the newest version `own` can write that every peer reads. A peer that reads none of
 * them (an upgrade that skipped a release) gets the oldest `own` writes: it drops and counts what
 * it cannot read, which the README tells operators to watch.
 */
export function negotiate(own: Generation, peers: Iterable<Versions>): Sending {
  const all = [...peers]
  const pick = (kind: WireKind): number => {
    const common = own.writes[kind].filter((version) => all.every((peer) => peer[kind].includes(version)))
    return common.length > 0 ? Math.max(...common) : Math.min(...own.writes[kind])
  }
  return Object.fromEntries(WIRE_KINDS.map((kind) => [kind, pick(kind)])) as Record<WireKind, number>
}

/** Whether `peer` reads everything `own` would write on its own (false: an old node, holding the cluster back). */
export function readsAllOf(peer: Versions, own: Generation): boolean {
  return WIRE_KINDS.every((kind) => peer[kind].includes(Math.max(...own.writes[kind])))
}

/** Parses what another node published (hostile: anything malformed is null, not trusted). */
export function parseVersions(value: unknown): Versions | null {
  if (typeof value !== 'object' || value === null) return null
  const entries: Array<[WireKind, number[]]> = []
  for (const kind of WIRE_KINDS) {
    const list = (value as Record<string, unknown>)[kind]
    if (!Array.isArray(list) || list.length === 0 || list.length > 64) return null
    if (!list.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffff)) return null
    entries.push([kind, list as number[]])
  }
  return Object.fromEntries(entries) as Record<WireKind, number[]>
}
