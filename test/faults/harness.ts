/**
 * The rig every fault test runs on: real server processes (strict about unhandled rejections),
 * a private Redis and a private MongoDB-wire server, each node reaching them through its own TCP
 * proxy (so one node's path can go silent), stock WebsocketProvider clients drawing on every
 * node throughout, REST chat posts with ids throughout, and every node's /readyz sampled
 * throughout. `assertRecovered` is what must hold after any fault.
 *
 * Only what the server acknowledged counts, and survival is judged only by clients that could
 * not have put anything back:
 * - A stroke is acknowledged once its writer's client has received it back from the server (the
 *   echo a writer gets once its update is logged, or the same content in a sync answer); a chat
 *   post once its request answered 2xx. What a client merely drew or sent counts for nothing.
 * - Every frame every client receives and sends is read. A client that sends the server content
 *   the server had served it (a writer's own echoed strokes included) is recorded in `resent`,
 *   which must stay empty: a node that lost what it acknowledged and got it back from a client
 *   would otherwise hide the loss.
 * - The watchers, and the readers that judge survival, are another member of the group: a viewer,
 *   so nothing she sends is ever applied. Watchers follow every node through the fault; after it,
 *   fresh readers connect to every node and only read, and every node's REST chat page is read.
 * - Clients keep to the node they first reached (unless the rig is `roaming`), so a node never
 *   lacks, for a good reason, what it served its own clients.
 *
 * Timers are set short (FAULT_TIMERS) so that every fault, lasting FAULT_MS, outlasts all of
 * them: the Redis and MongoDB deadlines (1.5 s), the compaction sweep (1 s), idle compaction
 * (0.5 s), the compaction lease (2 s), room grace (1 s), the minimum stream entry age (1 s),
 * socket pings (1 s), the revocation deadline (4 s), and the server's fixed presence timers
 * (heartbeat 2 s, a node silent 7 s counts as dead).
 */
import * as decoding from 'lib0/decoding'
import { expect } from 'vitest'
import * as Y from 'yjs'
import type { GroupResponse } from '../../shared/api.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { readAllMessages } from '../../shared/chat.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { startBalancer, type Balancer } from '../helpers/balancer.ts'
import { connectClient, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { docJson, sameContent } from '../helpers/docs.ts'
import { durableView, type DurableView } from '../helpers/durable.ts'
import { startMongoWire, type MongoWire } from '../helpers/mongo-wire.ts'
import type { ServerProcess } from '../helpers/process.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

export const FAULT_TIMERS: Record<string, string> = {
  REDIS_TIMEOUT_MS: '1500',
  MONGODB_TIMEOUT_MS: '1500',
  COMPACT_SWEEP_MS: '1000',
  COMPACT_IDLE_MS: '500',
  COMPACT_EVERY_UPDATES: '100',
  COMPACT_LEASE_TTL_MS: '2000',
  ROOM_GRACE_MS: '1000',
  REDIS_MIN_ENTRY_AGE_MS: '1000',
  PING_INTERVAL_MS: '1000',
  REVOCATION_DEADLINE_MS: '4000',
  ACCESS_CACHE_TTL_MS: '4000',
  SHUTDOWN_TIMEOUT_MS: '5000',
  MESSAGE_RATE_LIMIT_PER_MINUTE: '100000',
}

/** How long every fault lasts: longer than every timer above and the fixed presence timers (7 s). */
export const FAULT_MS = 10_000

/** Every dependency's liveness probe runs once a second (MongoDB pings, Redis PINGs: README, "Configuration"). */
const PROBE_INTERVAL_MS = 1_000
/** How late /readyz sampling can see a change: the sampling period, one request, event-loop delays. */
const READINESS_SAMPLE_MS = 200
const SAMPLE_SLACK_MS = 1_000

/**
 * /readyz must say the log is down within this long of Redis stopping or going silent: a probe
 * that is not answered within REDIS_TIMEOUT_MS fails, and one starts every second.
 */
export const REDIS_DETECT_MS = Number(FAULT_TIMERS.REDIS_TIMEOUT_MS) + PROBE_INTERVAL_MS + SAMPLE_SLACK_MS
/** The same for MongoDB: a ping not answered within MONGODB_TIMEOUT_MS marks storage down. */
export const MONGO_DETECT_MS = Number(FAULT_TIMERS.MONGODB_TIMEOUT_MS) + PROBE_INTERVAL_MS + SAMPLE_SLACK_MS

/** A chat post while the log was surely down on its node must be refused; the outage lasts long enough for this many per node. */
const MIN_REFUSED_PER_NODE = 5

export interface Readiness {
  at: number
  node: number
  status: number
  storage: string
  log: string
}

/** A stroke an editor drew: the Yjs clock range it occupies under that editor's client id. */
export interface DrawnStroke {
  id: string
  editor: number
  client: number
  from: number
  to: number
  drawnAt: number
  /** When the editor's client first received the whole stroke back from the server; null: not yet. */
  ackedAt: number | null
}

/** One REST chat post and what it got. */
export interface ChatPost {
  id: string
  /** Index of the node it was sent to (in `cluster.nodes`). */
  node: number
  sentAt: number
  doneAt: number
  status: number | null
  retryAfter: string | null
  /** The answer's body when it was not 2xx, or the request's error (no answer at all). */
  detail: string | null
  error: boolean
}

export interface FreshReaders {
  canvas: Client[]
  chat: Client[]
}

export interface FaultRig {
  cluster: TestCluster
  mongo: MongoWire
  redisProxies: TcpProxy[]
  mongoProxies: TcpProxy[]
  balancer: Balancer
  owner: TestUser
  /** Another member of the group, a viewer: every watcher and reader connects as her. */
  reader: TestUser
  group: GroupResponse
  /** The owner's canvas clients, one per node: they draw. */
  editors: Client[]
  /** The reader's canvas clients, one per node. */
  viewers: Client[]
  /** The reader's chat clients, one per node. */
  watchers: Client[]
  /** The reader's clients connected after the fault (see `connectFresh`). */
  fresh: Client[]
  strokes: DrawnStroke[]
  posts: ChatPost[]
  /** Every time a client sent the server content the server had served it (must stay empty). */
  resent: string[]
  readiness: Readiness[]
  acknowledgedStrokes(): DrawnStroke[]
  acknowledgedPosts(): string[]
  startEditing(): void
  stopEditing(): Promise<void>
  /** Resolves once every editor has strokes acknowledged and chat posts were acknowledged (the fault then has something to lose). */
  untilAcknowledged(): Promise<void>
  /** First time `node`'s /readyz answered 503 with `what` down, at or after `since` (ms since epoch), or null. */
  firstUnready(node: number, what: 'storage' | 'log', since: number): number | null
  /** First time `node`'s /readyz answered 200 at or after `since`, or null. */
  firstReady(node: number, since: number): number | null
  /** The reader's fresh canvas and chat clients on every live node, synced; they only read. */
  connectFresh(): Promise<FreshReaders>
  /** Every client goes (editing must be stopped). */
  dropClients(): void
  close(): Promise<void>
}

export interface RigOptions {
  nodes?: number
  persistentRedis?: boolean
  /** Start the nodes with MongoDB stopped; `whileDown` runs, then MongoDB starts. */
  mongoDownAtStart?: { whileDown(cluster: TestCluster): Promise<void> }
  env?: Record<string, string>
  /**
   * Clients reach the nodes through a balancer and may reconnect to any live node (a dead node's
   * clients move on). Otherwise each client keeps to its node: a node never lacks what it served
   * its own clients, so none of them has a reason to send back what it was served.
   */
  roaming?: boolean
}

export async function startFaultRig(options: RigOptions = {}): Promise<FaultRig> {
  const size = options.nodes ?? 2
  const mongo = await startMongoWire()
  const mongoProxies = await Promise.all(Array.from({ length: size }, () => startTcpProxy(Number(new URL(mongo.url).port))))
  const redisPort = { value: 0 }
  const redisProxies: TcpProxy[] = []
  if (options.mongoDownAtStart) await mongo.stop()
  const cluster = await startCluster(size, { ...FAULT_TIMERS, MONGODB_URL: mongo.url, MONGODB_DB: uniqueDbName(), ...options.env }, {
    persistentRedis: options.persistentRedis ?? true,
    nodeEnv: (index) => ({ REDIS_URL: redisProxies[index]!.url(`redis://127.0.0.1:${redisPort.value}`), MONGODB_URL: mongoProxies[index]!.url(mongo.url) }),
    beforeNodes: async (redis) => {
      redisPort.value = redis.port
      redisProxies.push(...await Promise.all(Array.from({ length: size }, () => startTcpProxy(redis.port))))
    },
  })
  if (options.mongoDownAtStart) {
    await options.mongoDownAtStart.whileDown(cluster)
    await mongo.start()
  }
  const api = cluster.api(0)
  await waitFor(async () => (await fetch(`${cluster.nodes[0]!.url}/readyz`)).ok, 30_000, 'node 0 ready')
  const owner = await registerUser(api, 'Owner')
  const group = await createGroup(api, owner)
  const reader = await registerUser(api, 'Reader')
  await addMember(api, owner, group.id, reader, 'viewer')
  const balancer = await startBalancer([])
  return newRig({ cluster, mongo, redisProxies, mongoProxies, balancer, owner, reader, group }, options.roaming ?? false)
}

type RigParts = Pick<FaultRig, 'cluster' | 'mongo' | 'redisProxies' | 'mongoProxies' | 'balancer' | 'owner' | 'reader' | 'group'>

async function newRig(parts: RigParts, roaming: boolean): Promise<FaultRig> {
  const { cluster, owner, reader, group, balancer } = parts
  /** What each editor's client has received from the server or been told it holds, and its strokes not acknowledged yet. */
  const served: Array<{ served: Ranges; held: Ranges }> = []
  const pending: DrawnStroke[][] = []
  const settle = (editor: number): void => {
    const now = Date.now()
    const { served: got, held } = served[editor]!
    pending[editor] = pending[editor]!.filter((stroke) => {
      if (!got.covers(stroke.client, stroke.from, stroke.to) && !held.covers(stroke.client, stroke.from, stroke.to)) return true
      stroke.ackedAt = now
      return false
    })
  }
  const tapped = (url: string, room: string, user: TestUser, name: string, onServed?: () => void): { client: Client; served: Ranges; held: Ranges } => {
    const tap: Tap = { name, served: new Ranges(), held: new Ranges(), sockets: 0, onServed }
    return { client: connectClient(url, room, { token: user.token, socket: tappedSocket(tap, rig.resent) }), served: tap.served, held: tap.held }
  }
  let running = false
  let sampling = true
  const loops: Array<Promise<void>> = []
  const rig: FaultRig = {
    ...parts,
    editors: [],
    viewers: [],
    watchers: [],
    fresh: [],
    strokes: [],
    posts: [],
    resent: [],
    readiness: [],
    acknowledgedStrokes: () => rig.strokes.filter((s) => s.ackedAt !== null),
    acknowledgedPosts: () => rig.posts.filter(isAcknowledged).map((p) => p.id),
    startEditing: () => {
      running = true
      loops.push(drawLoop(rig, pending, () => running), chatLoop(rig, () => running), readinessLoop(rig, () => sampling))
    },
    stopEditing: async () => {
      running = false
      await Promise.all(loops.splice(0, 2))
    },
    untilAcknowledged: async () => {
      await waitFor(() => rig.editors.every((_, n) => rig.strokes.filter((s) => s.editor === n && s.ackedAt !== null).length >= 3)
        && rig.acknowledgedPosts().length >= 2, 20_000, 'strokes and chat posts acknowledged before the fault')
    },
    firstUnready: (node, what, since) => rig.readiness.find((r) => r.node === node && r.at >= since && r.status === 503 && r[what] === 'down')?.at ?? null,
    firstReady: (node, since) => rig.readiness.find((r) => r.node === node && r.at >= since && r.status === 200)?.at ?? null,
    connectFresh: async () => {
      const readers: FreshReaders = { canvas: [], chat: [] }
      for (const node of cluster.live()) {
        const index = cluster.nodes.indexOf(node)
        readers.canvas.push(tapped(node.collabUrl, group.rooms.canvas, reader, `fresh canvas reader on node ${index}`).client)
        readers.chat.push(tapped(node.collabUrl, group.rooms.chat, reader, `fresh chat reader on node ${index}`).client)
      }
      rig.fresh.push(...readers.canvas, ...readers.chat)
      await Promise.all([...readers.canvas, ...readers.chat].map((client) => client.synced()))
      return readers
    },
    dropClients: () => {
      for (const list of [rig.editors, rig.viewers, rig.watchers, rig.fresh]) {
        for (const client of list.splice(0)) client.destroy()
      }
    },
    close: async () => {
      running = false
      sampling = false
      await Promise.all(loops)
      rig.dropClients()
      await balancer.close()
      await Promise.all([...parts.redisProxies, ...parts.mongoProxies].map((proxy) => proxy.close()))
      try {
        await cluster.close()
      } finally {
        await parts.mongo.destroy()
      }
    },
  }
  // Roaming clients reach node i through the balancer, placed there one node at a time; afterwards
  // the balancer spreads reconnects over every node. The others connect to their node directly.
  for (const node of cluster.live()) {
    const n = rig.editors.length
    balancer.setBackends([node.port])
    const url = roaming ? balancer.collabUrl : node.collabUrl
    const editor = tapped(url, group.rooms.canvas, owner, `editor ${n}`, () => settle(n))
    served.push(editor)
    pending.push([])
    rig.editors.push(editor.client)
    rig.viewers.push(tapped(url, group.rooms.canvas, reader, `canvas watcher ${n}`).client)
    rig.watchers.push(tapped(url, group.rooms.chat, reader, `chat watcher ${n}`).client)
    await Promise.all([rig.editors[n]!, rig.viewers[n]!, rig.watchers[n]!].map((client) => client.synced()))
  }
  openBalancer(rig)
  return rig
}

async function drawLoop(rig: FaultRig, pending: DrawnStroke[][], going: () => boolean): Promise<void> {
  await Promise.all(rig.editors.map((client) => client.synced()))
  for (let i = 0; going(); i++) {
    rig.editors.forEach((editor, n) => {
      const { doc } = editor
      const client = doc.clientID
      const from = Y.getState(doc.store, client)
      const id = `n${n}-s${i}`
      addStroke(doc, { author: rig.owner.id, color: '#204060', width: 2, tool: 'pen', id, points: [[i % 500, n]] })
      const stroke: DrawnStroke = { id, editor: n, client, from, to: Y.getState(doc.store, client), drawnAt: Date.now(), ackedAt: null }
      rig.strokes.push(stroke)
      pending[n]!.push(stroke)
    })
    await sleep(100)
  }
}

/**
 * A post every 300 ms, to each live node in turn, without waiting for the answer (one that hangs
 * must not stop the others); resolves once every post has its answer or gave up on it (5 s).
 */
async function chatLoop(rig: FaultRig, going: () => boolean): Promise<void> {
  const inFlight: Array<Promise<void>> = []
  for (let i = 0; going(); i++) {
    const live = rig.cluster.live()
    inFlight.push(chatPost(rig, live[i % live.length]!, i))
    await sleep(300)
  }
  await Promise.all(inFlight)
}

async function chatPost(rig: FaultRig, node: ServerProcess, i: number): Promise<void> {
  const post: ChatPost = { id: `fault-message-${i}`, node: rig.cluster.nodes.indexOf(node), sentAt: Date.now(), doneAt: 0, status: null, retryAfter: null, detail: null, error: false }
  try {
    const response = await fetch(`${node.url}/groups/${rig.group.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: post.id, text: `message ${i}` }),
      signal: AbortSignal.timeout(5_000),
    })
    post.status = response.status
    post.retryAfter = response.headers.get('retry-after')
    if (isAcknowledged(post)) await response.body?.cancel()
    else post.detail = (await response.text()).slice(0, 200)
  } catch (error) {
    post.error = true
    post.detail = String((error as Error).cause ?? error)
  }
  post.doneAt = Date.now()
  rig.posts.push(post)
}

async function readinessLoop(rig: FaultRig, going: () => boolean): Promise<void> {
  while (going()) {
    await Promise.all(rig.cluster.nodes.map(async (node, index) => {
      if (!node) return
      try {
        const response = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(2_000) })
        const body = (await response.json()) as { storage: string; log: string }
        rig.readiness.push({ at: Date.now(), node: index, status: response.status, storage: body.storage, log: body.log })
      } catch {
        // a killed node does not answer
      }
    }))
    await sleep(READINESS_SAMPLE_MS)
  }
}

/** Opens the balancer to every live node (clients of a dead node reconnect elsewhere). */
export function openBalancer(rig: FaultRig): void {
  rig.balancer.setBackends(rig.cluster.live().map((node) => node.port))
}

function isAcknowledged(post: ChatPost): boolean {
  return post.status === 201 || post.status === 200
}

function isRefused(post: ChatPost): boolean {
  return post.status === 503 && /^[1-9]\d*$/.test(post.retryAfter ?? '')
}

/**
 * After the fault: every process is up (but `killed`), every node ready and taking chat posts
 * again; every stroke drawn ends acknowledged (refused ones are re-sent by their clients); no
 * client ever sent the server content it had been served; fresh readers on every node have
 * every acknowledged stroke and chat post, every node's chat page lists every acknowledged post,
 * every client ends with the same document, and the stored snapshots equal the readers'.
 */
export async function assertRecovered(rig: FaultRig, label: string): Promise<FreshReaders> {
  const fresh = await assertServing(rig, label)
  await assertStored(rig, label, fresh)
  return fresh
}

/** Whether every live node answers /readyz 200; throws what an unready one says and logged last. */
async function everyNodeReady(rig: FaultRig): Promise<true> {
  for (const node of rig.cluster.live()) {
    const response = await fetch(`${node.url}/readyz`)
    if (!response.ok) throw new Error(`node ${node.port} /readyz ${response.status} ${await response.text()}; last logs:\n${node.logs.slice(-15).join('\n')}`)
  }
  return true
}

/** `assertRecovered` but the snapshots: what the live nodes serve. Returns the fresh readers. */
export async function assertServing(rig: FaultRig, label: string): Promise<FreshReaders> {
  for (const node of rig.cluster.live()) {
    expect(node.child.exitCode, `${label}: node exited`).toBeNull()
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200)
  }
  await waitFor(() => everyNodeReady(rig), 30_000, `${label}: every node ready`)
  const readyAt = Date.now()
  const live = rig.cluster.live().map((node) => rig.cluster.nodes.indexOf(node))
  await waitFor(() => live.every((n) => rig.posts.filter((p) => p.node === n && p.sentAt >= readyAt && isAcknowledged(p)).length >= 2), 20_000, `${label}: chat posts acknowledged again on every node`)
  await rig.stopEditing()
  // A stroke the log could not take is kept by its client and sent again once asked to resync.
  await waitFor(() => rig.strokes.every((s) => s.ackedAt !== null), 30_000, `${label}: every stroke drawn (${rig.strokes.length}) acknowledged to its writer`).catch((error: Error) => {
    const unacked = rig.strokes.filter((s) => s.ackedAt === null)
    throw new Error(`${error.message}; not acknowledged: ${unacked.length} (${unacked.slice(0, 8).map((s) => s.id).join(' ')})`)
  })
  expect(rig.resent, `${label}: no client sent the server what it had served it`).toEqual([])
  const fresh = await rig.connectFresh()
  await assertReadersHold(rig, label, fresh)
  const canvas = [...rig.editors, ...rig.viewers, ...fresh.canvas]
  const chat = [...rig.watchers, ...fresh.chat]
  await waitFor(() => canvas.every((c) => sameContent(c.doc, canvas[0]!.doc)), 10_000, `${label}: every canvas client ends with the same document`)
  await waitFor(() => chat.every((c) => sameContent(c.doc, chat[0]!.doc)), 10_000, `${label}: every chat client ends with the same document`)
  expect(rig.resent, `${label}: no client sent the server what it had served it`).toEqual([])
  return fresh
}

/**
 * Readers that never held anything before they connected hold every acknowledged stroke and chat
 * post, and every live node's REST chat page lists every acknowledged post.
 */
export async function assertReadersHold(rig: FaultRig, label: string, fresh: FreshReaders): Promise<void> {
  const strokes = rig.acknowledgedStrokes().map((s) => s.id)
  const posts = rig.acknowledgedPosts()
  expect(strokes.length, `${label}: strokes were acknowledged`).toBeGreaterThan(0)
  expect(posts.length, `${label}: chat posts were acknowledged`).toBeGreaterThan(0)
  const lacking = (have: Iterable<string>, wanted: string[]): string[] => {
    const set = new Set(have)
    return wanted.filter((id) => !set.has(id))
  }
  const strokeIds = (doc: Y.Doc): string[] => readStrokes(doc).map((s) => s.id)
  const messageIds = (doc: Y.Doc): string[] => readAllMessages(doc).map((m) => m.id)
  await waitFor(() => fresh.canvas.every((c) => lacking(strokeIds(c.doc), strokes).length === 0), 30_000, `${label}: a fresh reader on every node has every acknowledged stroke (${strokes.length})`).catch((error: Error) => {
    throw new Error(`${error.message}; missing per reader: ${fresh.canvas.map((c) => describeMissing(lacking(strokeIds(c.doc), strokes))).join(', ')}`)
  })
  await waitFor(() => fresh.chat.every((c) => lacking(messageIds(c.doc), posts).length === 0), 30_000, `${label}: a fresh reader on every node has every acknowledged chat post (${posts.length})`).catch((error: Error) => {
    throw new Error(`${error.message}; missing per reader: ${fresh.chat.map((c) => describeMissing(lacking(messageIds(c.doc), posts))).join(', ')}`)
  })
  const pages = await Promise.all(rig.cluster.live().map((node) => listedMessageIds(node, rig)))
  const missing = pages.map((ids) => lacking(ids, posts))
  expect(missing.map(describeMissing), `${label}: every node's GET /messages lists every acknowledged post`).toEqual(pages.map(() => describeMissing([])))
}

function describeMissing(ids: string[]): string {
  return `${ids.length} missing${ids.length > 0 ? ` (${ids.slice(0, 8).join(' ')})` : ''}`
}

/** Every message id the node's REST chat history lists, read as the reader, all pages. */
async function listedMessageIds(node: ServerProcess, rig: FaultRig): Promise<string[]> {
  const ids: string[] = []
  let before: string | null = null
  do {
    const query: string = before === null ? '' : `&before=${encodeURIComponent(before)}`
    const response = await fetch(`${node.url}/groups/${rig.group.id}/messages?limit=200${query}`, { headers: { authorization: `Bearer ${rig.reader.token}` } })
    expect(response.status, 'GET /messages').toBe(200)
    const page = (await response.json()) as { messages: Array<{ id: string }>; nextBefore: string | null }
    ids.unshift(...page.messages.map((m) => m.id))
    before = page.nextBefore
  } while (before !== null)
  return ids
}

/** The stored snapshots equal what the fresh readers hold. */
export async function assertStored(rig: FaultRig, label: string, fresh: FreshReaders): Promise<void> {
  const durable = await durableView(rig.cluster.env)
  try {
    await snapshotEquals(durable, rig.group.rooms.canvas, fresh.canvas[0]!.doc, `${label}: the canvas snapshot equals the clients`)
    await snapshotEquals(durable, rig.group.rooms.chat, fresh.chat[0]!.doc, `${label}: the chat snapshot equals the clients`)
  } finally {
    await durable.close()
  }
}

/** What a fault did, for judging the REST chat posts. */
export interface PostExpectations {
  /** When the fault began (ms since epoch). */
  faultAt: number
  /** Nodes whose log the fault took down, and when the fault ended (the dependency back, the path healed). */
  logDown?: { nodes: number[]; until: number }
  /** A node the fault killed (a post in flight to it may go unanswered). */
  killed?: number
}

/**
 * What the REST chat posts got, post by post, against the log's state on the node each went to:
 * 503 with Retry-After once the node reported its log down and until the fault ended; 2xx before
 * the fault and once the node was ready again, and throughout on a node whose log stayed up;
 * either of those while the node was finding out or recovering. Every post is answered, but one
 * in flight to a node the fault killed. Each node whose log was down refused at least
 * MIN_REFUSED_PER_NODE posts.
 */
export function assertPostStatuses(rig: FaultRig, label: string, fault: PostExpectations): void {
  const windows = new Map<number, { known: number; ready: number }>()
  for (const node of fault.logDown?.nodes ?? []) {
    const known = rig.firstUnready(node, 'log', fault.faultAt)
    const ready = rig.firstReady(node, fault.logDown!.until)
    expect(known, `${label}: node ${node} reported the log down`).not.toBeNull()
    expect(ready, `${label}: node ${node} was ready again`).not.toBeNull()
    windows.set(node, { known: known!, ready: ready! })
  }
  const wrong: string[] = []
  const refusedWhileDown = new Map<number, number>()
  for (const post of rig.posts) {
    const window = windows.get(post.node)
    const got = isAcknowledged(post) ? '2xx' : isRefused(post) ? '503' : post.error ? 'no answer' : `${post.status} (Retry-After ${post.retryAfter})`
    let allowed: string[]
    if (window && post.sentAt >= window.known && post.doneAt <= fault.logDown!.until) allowed = ['503']
    else if (window && post.doneAt >= fault.faultAt && post.sentAt < window.ready) allowed = ['2xx', '503']
    else allowed = ['2xx']
    if (post.node === fault.killed && post.doneAt >= fault.faultAt) allowed.push('no answer')
    if (got === '503' && allowed.length === 1) refusedWhileDown.set(post.node, (refusedWhileDown.get(post.node) ?? 0) + 1)
    if (!allowed.includes(got)) {
      wrong.push(`${post.id} to node ${post.node}, sent ${post.sentAt - fault.faultAt} ms after the fault began, answered after ${post.doneAt - post.sentAt} ms: ${got}${post.detail ? ` ${post.detail}` : ''}; expected ${allowed.join(' or ')}`)
    }
  }
  expect(wrong, `${label}: every REST chat post got the status the log's state calls for`).toEqual([])
  for (const node of windows.keys()) {
    expect(refusedWhileDown.get(node) ?? 0, `${label}: chat posts refused by node ${node} while its log was down`).toBeGreaterThanOrEqual(MIN_REFUSED_PER_NODE)
  }
  const unanswered = rig.posts.filter((p) => p.error).length
  expect(unanswered, `${label}: chat posts left unanswered`).toBeLessThanOrEqual(fault.killed === undefined ? 0 : 1)
}

/** How the server closed the clients' sockets (reconnects follow), for the report: "code ×count" each. */
export function closeFigures(rig: FaultRig): string {
  const counts = new Map<number, number>()
  for (const client of [...rig.editors, ...rig.viewers, ...rig.watchers, ...rig.fresh]) {
    for (const { code } of client.closeEvents) counts.set(code, (counts.get(code) ?? 0) + 1)
  }
  return counts.size === 0 ? 'none' : [...counts].map(([code, count]) => `${code} ×${count}`).join(', ')
}

/** The chat posts' outcomes, for the report. */
export function postFigures(rig: FaultRig): Record<string, number> {
  return {
    'chat posts': rig.posts.length,
    '2xx': rig.posts.filter(isAcknowledged).length,
    '503 with Retry-After': rig.posts.filter(isRefused).length,
    unanswered: rig.posts.filter((p) => p.error).length,
    other: rig.posts.filter((p) => !p.error && !isAcknowledged(p) && !isRefused(p)).length,
  }
}

/** Strokes `editor` got acknowledged with the echo arriving in [from, to). */
export function acknowledgedBetween(rig: FaultRig, editor: number, from: number, to: number): number {
  return rig.strokes.filter((s) => s.editor === editor && s.ackedAt !== null && s.ackedAt >= from && s.ackedAt < to).length
}

/** Waits for the stored snapshot of `room` to hold what `client` holds; says what differs if not. */
async function snapshotEquals(durable: DurableView, room: string, client: Y.Doc, label: string): Promise<void> {
  try {
    await waitFor(async () => sameStored(await durable.snapshot(room), client), 30_000, label)
  } catch (error) {
    const stored = await durable.snapshot(room)
    const count = (doc: Y.Doc | null): string => doc === null ? 'no snapshot' : `${readStrokes(doc).length} strokes, ${readAllMessages(doc).length} messages`
    throw new Error(`${(error as Error).message}: snapshot has ${count(stored)}, clients ${count(client)}; stream holds ${await durable.streamLength(room)} entries`)
  }
}

function sameStored(stored: Y.Doc | null, client: Y.Doc): boolean {
  return stored !== null && JSON.stringify(docJson(stored)) === JSON.stringify(docJson(client))
}

/** Prints a fault's figures (the report quotes them). */
export function report(label: string, figures: Record<string, unknown>): void {
  console.info(`[fault ${label}] ${Object.entries(figures).map(([k, v]) => `${k}: ${String(v)}`).join('; ')}`)
}

// --- reading what clients receive and send ---------------------------------------------------

/** Half-open Yjs clock ranges per client id. */
class Ranges {
  private readonly byClient = new Map<number, Array<[number, number]>>()

  add(client: number, from: number, to: number): void {
    const ranges = [...(this.byClient.get(client) ?? []), [from, to] as [number, number]].sort((a, b) => a[0] - b[0])
    const merged: Array<[number, number]> = []
    for (const [start, end] of ranges) {
      const last = merged.at(-1)
      if (last && start <= last[1]) last[1] = Math.max(last[1], end)
      else merged.push([start, end])
    }
    this.byClient.set(client, merged)
  }

  covers(client: number, from: number, to: number): boolean {
    return (this.byClient.get(client) ?? []).some(([start, end]) => start <= from && to <= end)
  }

  overlap(client: number, from: number, to: number): [number, number] | null {
    for (const [start, end] of this.byClient.get(client) ?? []) {
      if (Math.max(start, from) < Math.min(end, to)) return [Math.max(start, from), Math.min(end, to)]
    }
    return null
  }
}

interface Tap {
  name: string
  /** Content this client has received from the server. */
  served: Ranges
  /**
   * Content the server said it holds: the state vector of its sync step 1. The server holds only
   * what is logged, so this acknowledges a client's own writes too (after its node died between
   * logging them and echoing them, the node it reconnects to has them and sends nothing back).
   */
  held: Ranges
  /** Sockets the client has opened so far (1: it never reconnected). */
  sockets: number
  onServed?: () => void
}

/** The Yjs update a y-websocket frame carries (sync step 2 or update), or null. */
function updateIn(frame: Uint8Array): Uint8Array | null {
  try {
    const decoder = decoding.createDecoder(frame)
    if (decoding.readVarUint(decoder) !== 0) return null // not a sync message
    const kind = decoding.readVarUint(decoder)
    return kind === 1 || kind === 2 ? decoding.readVarUint8Array(decoder) : null
  } catch {
    return null
  }
}

/** The state vector of a sync step 1 frame, or null. */
function stateVectorIn(frame: Uint8Array): Map<number, number> | null {
  try {
    const decoder = decoding.createDecoder(frame)
    if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== 0) return null
    return Y.decodeStateVector(decoding.readVarUint8Array(decoder))
  } catch {
    return null
  }
}

function structsIn(update: Uint8Array): Array<{ client: number; from: number; to: number }> {
  return Y.decodeUpdate(update).structs
    .filter((struct) => !(struct instanceof Y.Skip))
    .map((struct) => ({ client: struct.id.client, from: struct.id.clock, to: struct.id.clock + struct.length }))
}

/**
 * A WebSocket for the provider that reads every frame: what arrives is recorded as served (before
 * the provider handles it), and what the client sends that it had been served is reported.
 */
function tappedSocket(tap: Tap, resent: string[]): typeof WebSocket {
  return class TappedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      tap.sockets++
      this.addEventListener('message', (event: MessageEvent) => {
        if (!(event.data instanceof ArrayBuffer)) return
        const frame = new Uint8Array(event.data)
        const update = updateIn(frame)
        const held = update ? null : stateVectorIn(frame)
        if (!update && !held) return
        for (const struct of update ? structsIn(update) : []) tap.served.add(struct.client, struct.from, struct.to)
        for (const [client, clock] of held ?? []) tap.held.add(client, 0, clock)
        tap.onServed?.()
      })
    }

    override send(data: Parameters<WebSocket['send']>[0]): void {
      const update = data instanceof Uint8Array ? updateIn(data) : null
      for (const struct of update ? structsIn(update) : []) {
        const again = tap.served.overlap(struct.client, struct.from, struct.to)
        if (again) resent.push(`${tap.name} (socket ${tap.sockets}) sent client ${struct.client} clocks ${again[0]}..${again[1]}, which the server had served it`)
      }
      super.send(data)
    }
  }
}

export { durableView, type DurableView }
