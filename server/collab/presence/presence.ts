/**
 * A room's presence (awareness), held as JSON text by client id, with y-protocols' rules:
 * an entry takes effect only with a newer clock (or as the removal of a present state at the
 * same clock), and states not renewed for 30 s lapse.
 *
 * Every id has at most one owner: the local socket that introduced it, or the node another
 * socket lives on. A socket sets or removes only states of ids it owns, and introduces ids up to
 * a small limit. Who may claim an id another holds or held (a presence id is the client's Yjs
 * client id, so it matters to the document too):
 *   - the user it is bound to in the document always may: the holder loses it (its socket, if
 *     another user's, is closed with 1008), and the holder's state is removed at a newer clock,
 *     which makes the rightful client re-announce itself above any clock a squatter set;
 *   - another socket of the same user may (a client that reconnected before its old socket died);
 *   - anyone else is the offender: closed with 1008, the holder untouched.
 * A claim by a user who cannot write does not reserve the id in the document (claimedBy).
 * Claims are remembered for the room's life, a bounded number per user. Entries that change
 * nothing (stock clients echo every change they receive) are dropped before their JSON is read.
 * The name in `user.name` is the server's, and `user.id` says who it is.
 */
import * as encoding from 'lib0/encoding'
import { CloseCode } from '../../../shared/close-codes.ts'
import type { Connection } from '../wire/connection.ts'
import type { RawPresence } from '../wire/inbound.ts'
import type { RelayedClaim, RelayedPresence } from './presence-relay-codec.ts'
import { ProtocolError } from '../wire/protocol-error.ts'

export interface RemoteOwner {
  node: string
  userId: string
  canWrite: boolean
}

interface Entry {
  clock: number
  /** The state as JSON text; null once removed. */
  json: string | null
  updatedAt: number
  owner: Connection | RemoteOwner | null
}

export interface PresenceChange {
  clientId: number
  clock: number
  json: string | null
  /** Owned by a socket of this node (other nodes must hear of it). */
  local: boolean
  /** Also for the socket that caused it (a takeover: the rightful client must hear it). */
  toSender?: boolean
  /** Who holds the id (other nodes remember the claim). */
  userId: string
  canWrite: boolean
}

interface Claim {
  userId: string
  canWrite: boolean
}

export interface PresenceOptions {
  /** The user a client id is bound to in the document, if any. */
  boundTo(clientId: number): string | undefined
  maxIdsPerSocket: number
  /** A state not renewed for this long lapses (y-protocols: 30 s). */
  outdatedMs: number
}

const textDecoder = new TextDecoder('utf-8', { fatal: true })
/** Claims remembered per user for the room's life; a user's oldest goes first. */
const MAX_CLAIMS_PER_USER = 64

export class Presence {
  private readonly entries = new Map<number, Entry>()
  private readonly claims = new Map<number, Claim>()
  private readonly claimsByUser = new Map<string, number[]>()
  private readonly options: PresenceOptions

  constructor(options: PresenceOptions) {
    this.options = options
  }

  has(clientId: number): boolean {
    return (this.entries.get(clientId)?.json ?? null) !== null
  }

  /**
   * The user who claimed an id in this room and may write (the document's writes under it are
   * theirs); a viewer's claim does not reserve an id in the document.
   */
  claimedBy(clientId: number): string | undefined {
    const claim = this.claims.get(clientId)
    return claim?.canWrite ? claim.userId : undefined
  }

  /** A socket's awareness message; throws ProtocolError for ids it may not claim or bad states. */
  fromSocket(conn: Connection, raw: RawPresence[], now: number): PresenceChange[] {
    const changes: PresenceChange[] = []
    for (const entry of latestPerClient(raw)) {
      const current = this.entries.get(entry.clientId)
      const removal = isNullJson(entry.json)
      const effective = takesEffect(current, entry.clock, removal)
      if (removal) {
        if (effective && current?.owner === conn) changes.push(this.set(entry.clientId, entry.clock, null, conn, now))
        continue
      }
      if (current?.owner !== conn && (effective || this.isRightfulBlocked(conn, entry.clientId, current))) {
        const takeover = this.claim(conn, entry.clientId, current, effective, now)
        if (takeover) {
          changes.push(takeover) // the holder's clock may be far above hers: she re-announces above it
          continue
        }
      }
      if (effective) changes.push(this.set(entry.clientId, entry.clock, stampedState(entry.json, conn), conn, now))
    }
    return changes
  }

  /**
   * States relayed by another node (stamped there, with their owners), whose claims are
   * remembered here too. Ids owned here are left alone, unless the id is bound to the remote
   * owner in the document and held here by another user: then the holder loses it, as here.
   */
  fromRemote(node: string, raw: RelayedPresence[], now: number): PresenceChange[] {
    const changes: PresenceChange[] = []
    for (const entry of latestPerClient(raw)) {
      const current = this.entries.get(entry.clientId)
      const removal = isNullJson(entry.json)
      if (!takesEffect(current, entry.clock, removal)) continue
      if (isLocal(current?.owner) && (removal || !this.remoteTakesOver(current.owner, entry))) continue
      const { userId, canWrite } = entry
      if (!removal && this.claims.get(entry.clientId)?.userId !== userId) this.remember(entry.clientId, { userId, canWrite })
      const json = removal ? null : textDecoder.decode(entry.json)
      changes.push(this.set(entry.clientId, entry.clock, json, json === null ? null : { node, userId, canWrite }, now))
    }
    return changes
  }

  /** Every state this node's sockets own, with its owner (for another node that asks). */
  localStates(): PresenceChange[] {
    const present: PresenceChange[] = []
    for (const [clientId, entry] of this.entries) {
      if (entry.json !== null && isLocal(entry.owner)) present.push(this.changeOf(clientId, entry))
    }
    return present
  }

  /** Every claim remembered here (for another node that asks: some have no state anywhere now). */
  knownClaims(): RelayedClaim[] {
    return [...this.claims].map(([clientId, { userId, canWrite }]) => ({ clientId, userId, canWrite }))
  }

  /**
   * Claims another node remembers. What this node knows already stays: it heard it itself, or
   * later than the other node's answer was made.
   */
  learn(claims: readonly RelayedClaim[]): void {
    for (const { clientId, userId, canWrite } of claims) {
      if (!this.claims.has(clientId)) this.remember(clientId, { userId, canWrite })
    }
  }

  /**
   * A socket left: its states are removed and its ids released (claims stay with its user). The
   * removal keeps the state's clock (a same-clock removal applies everywhere), so the client's
   * first change after it reconnects takes effect.
   */
  release(conn: Connection, now: number): PresenceChange[] {
    const changes: PresenceChange[] = []
    for (const id of conn.awarenessIds) {
      const entry = this.entries.get(id)
      if (!entry || entry.owner !== conn) continue
      if (entry.json !== null) changes.push(this.set(id, entry.clock, null, conn, now))
      this.entries.get(id)!.owner = null
    }
    conn.awarenessIds.clear()
    return changes
  }

  /** Drops states relayed from other nodes (theirs died, or they removed them). */
  dropRemote(clientIds: number[], now: number): PresenceChange[] {
    const changes: PresenceChange[] = []
    for (const id of clientIds) {
      const entry = this.entries.get(id)
      if (!entry || entry.json === null || isLocal(entry.owner)) continue
      changes.push(this.set(id, entry.clock + 1, null, null, now))
    }
    return changes
  }

  /**
   * States not renewed in time lapse; long-removed entries are forgotten. A lapsed state of another
   * node's socket is no longer held by it here (that node may be gone): it is forgotten in turn.
   */
  expire(now: number): PresenceChange[] {
    const changes: PresenceChange[] = []
    for (const [id, entry] of this.entries) {
      const age = now - entry.updatedAt
      if (entry.json !== null && age >= this.options.outdatedMs) changes.push(this.set(id, entry.clock + 1, null, isLocal(entry.owner) ? entry.owner : null, now))
      else if (entry.json === null && entry.owner === null && age >= 2 * this.options.outdatedMs) this.entries.delete(id)
    }
    return changes
  }

  /** Every present state (for a socket that joins or asks), or null if none. */
  states(): Uint8Array | null {
    const present: PresenceChange[] = []
    for (const [clientId, entry] of this.entries) if (entry.json !== null) present.push(this.changeOf(clientId, entry))
    return present.length > 0 ? encodePresence(present) : null
  }

  /** Ids owned by other nodes' sockets whose node is `node`. */
  idsOfNode(node: string): number[] {
    return [...this.entries].filter(([, e]) => e.owner !== null && !isLocal(e.owner) && e.owner.node === node).map(([id]) => id)
  }

  /**
   * Gives `conn` the id, or throws ProtocolError (1008) when it may not have it. When its entry
   * cannot take effect (the holder's clock is above it), returns the holder state's removal at a
   * newer clock, for everyone: the client then re-announces itself above it.
   */
  private claim(conn: Connection, clientId: number, current: Entry | undefined, effective: boolean, now: number): PresenceChange | null {
    const rival = this.rivalOf(clientId, current)
    if (rival && rival.userId !== conn.principal.userId && !this.mayTakeFrom(conn, clientId, rival)) {
      throw new ProtocolError(CloseCode.policyViolation, `awareness client ${clientId} belongs to another user`)
    }
    if (conn.awarenessIds.size >= this.options.maxIdsPerSocket) throw new ProtocolError(CloseCode.policyViolation, 'too many awareness client ids')
    const holder = current?.owner
    if (isLocal(holder)) {
      holder.awarenessIds.delete(clientId)
      if (holder.principal.userId !== conn.principal.userId) holder.close(CloseCode.policyViolation, `awareness client ${clientId} belongs to another user`)
    }
    conn.awarenessIds.add(clientId)
    this.remember(clientId, { userId: conn.principal.userId, canWrite: conn.canWrite })
    if (effective || current === undefined) return null
    return { ...this.set(clientId, current.clock + 1, null, conn, now), toSender: true }
  }

  /** Who else has a say over an id: its live holder, its document binding, or an earlier claim. */
  private rivalOf(clientId: number, current: Entry | undefined): Claim | undefined {
    const owner = current?.owner
    if (isLocal(owner)) return { userId: owner.principal.userId, canWrite: owner.canWrite }
    if (owner) return { userId: owner.userId, canWrite: owner.canWrite }
    const bound = this.options.boundTo(clientId)
    return bound !== undefined ? { userId: bound, canWrite: true } : this.claims.get(clientId)
  }

  /** The id is bound to the remote owner and held here by someone else: the holder loses it. */
  private remoteTakesOver(holder: Connection, entry: RelayedPresence): boolean {
    if (holder.principal.userId === entry.userId || this.options.boundTo(entry.clientId) !== entry.userId) return false
    holder.awarenessIds.delete(entry.clientId)
    holder.close(CloseCode.policyViolation, `awareness client ${entry.clientId} belongs to another user`)
    return true
  }

  private mayTakeFrom(conn: Connection, clientId: number, _rival: Claim): boolean {
    return this.options.boundTo(clientId) === conn.principal.userId
  }

  /**
   * The id is this socket's user's, yet known here at a clock above hers, so her entries would
   * never take effect: it is bound to her in the document and another user holds it (a squatter
   * set it high), or it is free and claimed by her (her client started its presence over: a new
   * provider on the same document). The claim answers with a removal above that clock, and she
   * re-announces above it. A live state of hers is left alone: her other tab echoes it.
   */
  private isRightfulBlocked(conn: Connection, clientId: number, current: Entry | undefined): boolean {
    if (current === undefined) return false
    const user = conn.principal.userId
    const holder = current.owner
    if (holder === null) return current.json === null && (this.options.boundTo(clientId) ?? this.claims.get(clientId)?.userId) === user
    const holderUser = isLocal(holder) ? holder.principal.userId : holder.userId
    return holderUser !== user && this.options.boundTo(clientId) === user
  }

  private remember(clientId: number, claim: Claim): void {
    const previous = this.claims.get(clientId)
    if (previous) this.forgetClaim(clientId, previous.userId)
    this.claims.set(clientId, claim)
    const ids = this.claimsByUser.get(claim.userId) ?? []
    ids.push(clientId)
    this.claimsByUser.set(claim.userId, ids)
    if (ids.length > MAX_CLAIMS_PER_USER) {
      const oldest = ids.shift()!
      if (this.claims.get(oldest)?.userId === claim.userId) this.claims.delete(oldest)
    }
  }

  private forgetClaim(clientId: number, userId: string): void {
    const ids = this.claimsByUser.get(userId)
    const at = ids?.indexOf(clientId) ?? -1
    if (ids && at >= 0) ids.splice(at, 1)
  }

  private set(clientId: number, clock: number, json: string | null, owner: Entry['owner'], now: number): PresenceChange {
    const entry = { clock, json, updatedAt: now, owner }
    this.entries.set(clientId, entry)
    return this.changeOf(clientId, entry)
  }

  private changeOf(clientId: number, entry: Entry): PresenceChange {
    const { owner } = entry
    const holder = isLocal(owner) ? { userId: owner.principal.userId, canWrite: owner.canWrite } : owner ?? this.claims.get(clientId) ?? { userId: '', canWrite: false }
    return { clientId, clock: entry.clock, json: entry.json, local: isLocal(owner), userId: holder.userId, canWrite: holder.canWrite }
  }
}

export function encodePresence(changes: readonly PresenceChange[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, changes.length)
  for (const { clientId, clock, json } of changes) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, json ?? 'null')
  }
  return encoding.toUint8Array(encoder)
}

/** y-protocols' rule: a newer clock, or the removal of a present state at the same clock. */
function takesEffect(current: Entry | undefined, clock: number, removal: boolean): boolean {
  const known = current?.clock ?? 0
  return known < clock || (known === clock && removal && current !== undefined && current.json !== null)
}

/** One entry per client id (a message may repeat one thousands of times): the newest clock wins. */
function latestPerClient<T extends RawPresence>(raw: T[]): T[] {
  const latest = new Map<number, T>()
  for (const entry of raw) {
    const seen = latest.get(entry.clientId)
    if (!seen || entry.clock >= seen.clock) latest.set(entry.clientId, entry)
  }
  return [...latest.values()]
}

const NULL_JSON = [0x6e, 0x75, 0x6c, 0x6c] // "null"

function isNullJson(json: Uint8Array): boolean {
  return json.length === 4 && NULL_JSON.every((byte, i) => json[i] === byte)
}

function isLocal(owner: Entry['owner'] | undefined): owner is Connection {
  return owner !== null && owner !== undefined && !('node' in owner)
}

/** The client's state with `user.name` and `user.id` from the server's record of the user. */
function stampedState(json: Uint8Array, conn: Connection): string {
  let state: unknown
  try {
    state = JSON.parse(textDecoder.decode(json))
  } catch {
    throw ProtocolError.invalid('awareness state is not JSON')
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw ProtocolError.invalid('awareness state must be an object')
  const record = state as Record<string, unknown>
  const user = typeof record.user === 'object' && record.user !== null && !Array.isArray(record.user) ? record.user : {}
  return JSON.stringify({ ...record, user: { ...user, name: conn.principal.name, id: conn.principal.userId } })
}
