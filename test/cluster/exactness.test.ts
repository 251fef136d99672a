/**
 * The room core's three exactness claims, checked from outside: real servers (two processes over
 * a private Redis and the run's MongoDB-wire server, or one in-process server on the embedded
 * log), stock WebsocketProvider clients, and raw sockets whose every sync step 2 and update
 * frame is decoded down to struct clocks.
 *
 * 1. Deliveries. Every update a socket sends is logged once; each logged update reaches every
 *    other synced socket exactly once, and comes back exactly once to its writer, only after it
 *    is logged (the echo is the writer's acknowledgement that it is durable). A socket that never
 *    sent a sync step 1 gets no updates.
 * 2. Fill. Only what the document lacked is logged and counted: an editor re-sending the whole
 *    document (others' content included) with one new point costs the document one point, and
 *    content it already has costs nothing (no log entry). An honest writer then fills the
 *    document to MAX_DOC_BYTES and is refused only when the next stroke would pass it.
 * 3. A node whose log reader falls behind the trim (its Redis path silent for longer than every
 *    Redis timer while the other node writes, compacts and trims past it) catches up from the
 *    stored snapshot and sends its sockets what they lacked, once.
 *
 * The embedded log runs claims 1 and 2 on one node; claim 3 needs a second node (one process is
 * the embedded log's only reader and writer, so it cannot fall behind it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import * as Y from 'yjs'
import { addStroke, appendPoints, readStrokes, type Point } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { compareLogIds, LOG_START, type LogId } from '../../server/log/log-id.ts'
import { RedisLog } from '../../server/log/redis-log.ts'
import type { LogEntry, UpdateLog } from '../../server/log/types.ts'
import { addMember, createGroup, injectApi, registerUser, type Api, type TestUser } from '../helpers/api.ts'
import { connectClient, connectSynced, type Client, type RawSocket } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { decodeServerFrame, deniedReasons, hostileSocket, syncStep1, syncStep2 } from '../helpers/hostile.ts'
import { prng } from '../helpers/random.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

const silent = pino({ level: 'silent' })
const MAX_DOC = 262_144
const EMPTY_SV = Y.encodeStateVector(new Y.Doc())

// --- what a raw socket received ------------------------------------------------------------------

/**
 * Every struct clock a raw socket received in sync step 2 and update frames (skips excluded),
 * counted as frames arrive; optionally applied to a document (the socket's own replica).
 */
class Received {
  /** `${client}:${clock}` → how many times it arrived. */
  readonly times = new Map<string, number>()
  clocks = 0
  readonly duplicates: string[] = []
  private read = 0
  readonly socket: RawSocket
  readonly doc: Y.Doc | undefined

  constructor(socket: RawSocket, doc?: Y.Doc) {
    this.socket = socket
    this.doc = doc
  }

  /** Takes in the frames that arrived since the last call. */
  refresh(): this {
    const frames = this.socket.frames
    for (; this.read < frames.length; this.read++) {
      const message = decodeServerFrame(frames[this.read]!)
      if (message.kind !== 'sync-step2' && message.kind !== 'update') continue
      if (this.doc) Y.applyUpdate(this.doc, message.update)
      for (const struct of Y.decodeUpdate(message.update).structs) {
        if (struct instanceof Y.Skip) continue
        for (let clock = struct.id.clock; clock < struct.id.clock + struct.length; clock++) {
          const key = `${struct.id.client}:${clock}`
          const times = (this.times.get(key) ?? 0) + 1
          this.times.set(key, times)
          if (times > 1) this.duplicates.push(key)
        }
        this.clocks += struct.length
      }
    }
    return this
  }

  has(client: number, clock: number): boolean {
    return this.refresh().times.has(`${client}:${clock}`)
  }

  /** Clocks received of `client`. */
  clocksOf(client: number): number {
    this.refresh()
    let n = 0
    for (const key of this.times.keys()) if (key.startsWith(`${client}:`)) n++
    return n
  }

  /** Sync step 2 and update frames received (of any content). */
  get updateFrames(): number {
    return this.socket.frames.filter((f) => {
      const kind = decodeServerFrame(f).kind
      return kind === 'sync-step2' || kind === 'update'
    }).length
  }
}

/** Sends a sync step 1 with an empty state vector and waits for the answer. */
async function firstSync(socket: RawSocket): Promise<void> {
  const before = socket.frames.length
  socket.send(syncStep1(EMPTY_SV))
  await waitFor(() => socket.frames.slice(before).some((f) => decodeServerFrame(f).kind === 'sync-step2'), 10_000, 'the first sync answer')
}

/**
 * Frames of one socket are handled in order: the answer to a sync step 1 sent after an update
 * means the update was taken in (queued for the log, or dropped as known), or the socket closed.
 */
async function barrier(socket: RawSocket, stateVector: Uint8Array = EMPTY_SV): Promise<void> {
  const before = socket.frames.length
  socket.send(syncStep1(stateVector))
  await waitFor(() => socket.frames.slice(before).some((f) => decodeServerFrame(f).kind === 'sync-step2') || socket.ws.readyState !== WebSocket.OPEN, 10_000, 'the sync answer behind an update')
}

function clockOf(doc: Y.Doc, client = doc.clientID): number {
  return Y.getState(doc.store, client)
}

/** One single-stroke update (one transaction) by `user` in `doc`. */
function strokeUpdate(doc: Y.Doc, user: TestUser, points: Point[]): Uint8Array {
  const updates: Uint8Array[] = []
  const listener = (update: Uint8Array): void => void updates.push(update)
  doc.on('update', listener)
  doc.transact(() => addStroke(doc, { author: user.id, color: '#305070', width: 2, tool: 'pen', points }))
  doc.off('update', listener)
  expect(updates).toHaveLength(1)
  return updates[0]!
}

function randomPoints(random: () => number, count: number): Point[] {
  return Array.from({ length: count }, () => [random() * 1000, random() * 1000] as Point)
}

/** Struct clocks logged, counted per (client, clock): each must be logged exactly once. */
function loggedClocks(entries: readonly LogEntry[]): { clocks: number; duplicates: string[]; bytes: number } {
  const seen = new Set<string>()
  const duplicates: string[] = []
  let clocks = 0
  let bytes = 0
  for (const entry of entries) {
    for (const { update } of entry.updates) {
      bytes += update.length
      for (const struct of Y.decodeUpdate(update).structs) {
        if (struct instanceof Y.Skip) continue
        for (let clock = struct.id.clock; clock < struct.id.clock + struct.length; clock++) {
          const key = `${struct.id.client}:${clock}`
          if (seen.has(key)) duplicates.push(key)
          seen.add(key)
        }
        clocks += struct.length
      }
    }
  }
  return { clocks, duplicates, bytes }
}

function holds(entries: readonly LogEntry[], client: number, clock: number): boolean {
  return entries.some((entry) => entry.updates.some(({ update }) => Y.decodeUpdate(update).structs.some((s) => !(s instanceof Y.Skip) && s.id.client === client && s.id.clock <= clock && clock < s.id.clock + s.length)))
}

async function usersIn(api: Api, names: string[]): Promise<{ room: string; users: Record<string, TestUser> }> {
  const owner = await registerUser(api, 'Owner')
  const group = await createGroup(api, owner)
  const users: Record<string, TestUser> = {}
  for (const name of names) {
    users[name] = await registerUser(api, name)
    await addMember(api, owner, group.id, users[name]!, 'editor')
  }
  return { room: group.rooms.canvas, users }
}

// --- the logs, read directly ------------------------------------------------------------------------

/** The cluster's Redis read directly (not through any node's proxy). */
interface RedisDirect {
  entries(room: string): Promise<LogEntry[]>
  head(room: string): Promise<LogId>
  /** The oldest entry still in the stream (null: empty). */
  oldest(room: string): Promise<LogId | null>
  /** The document's size as the log itself counts it (its size hash), or null if it has none. */
  counted(room: string): Promise<number | null>
  close(): Promise<void>
}

async function redisDirect(url: string, prefix = 'collab:'): Promise<RedisDirect> {
  const clients = await RedisClients.connect(url, silent)
  const log = new RedisLog(clients, { prefix, minEntryAgeMs: 60_000, logger: silent })
  return {
    entries: (room) => log.read(room, LOG_START, 1_000_000),
    head: (room) => log.head(room),
    oldest: async (room) => {
      const first = (await clients.cmd.xRange(`${prefix}log:${room}`, '-', '+', { COUNT: 1 }))?.[0]
      return first ? String(first.id) : null
    },
    counted: async (room) => {
      const bytes = await clients.cmd.hGet(`${prefix}size:${room}`, 'bytes')
      return bytes === null || bytes === undefined ? null : Number(bytes)
    },
    close: async () => {
      await log.close()
      await clients.close()
    },
  }
}

/**
 * An in-process server on the embedded log whose appends are recorded as they resolve (the log
 * may trim them later) and can be held back, as a stalled disk would hold them.
 */
interface EmbeddedRig {
  server: TestServer
  /** Every entry the log took, in order, whatever was trimmed since. */
  appended: LogEntry[]
  stall(): void
  resume(): void
  close(): Promise<void>
}

async function embeddedRig(overrides: Parameters<typeof startServer>[0]): Promise<EmbeddedRig> {
  const dir = await tempDir()
  const server = await startServer({ dataDir: dir.path, maxDocBytes: MAX_DOC, inviteAcceptRateLimitPerMinute: 100_000, ...overrides })
  const log: UpdateLog = server.app.updateLog
  const append = log.append.bind(log)
  const appended: LogEntry[] = []
  let gate: { promise: Promise<void>; open(): void } | null = null
  log.append = async (room, updates, options) => {
    if (gate) await gate.promise
    const id = await append(room, updates, options)
    appended.push({ id, tag: options?.tag ?? '', updates })
    return id
  }
  return {
    server,
    appended,
    stall: () => {
      let open = (): void => {}
      const promise = new Promise<void>((resolve) => (open = resolve))
      gate = { promise, open }
    },
    resume: () => {
      gate?.open()
      gate = null
    },
    close: async () => {
      gate?.open()
      await server.close()
      await dir.remove()
    },
  }
}

// =================================================================================================
// 1. Deliveries
// =================================================================================================

interface DeliveryRig {
  url(node: 'A' | 'B'): string
  room: string
  users: Record<string, TestUser>
  /** Appends stop reaching the log (nothing is lost: they land on `resumeLog`). */
  stallLog(): void
  resumeLog(): void
  /** Every entry logged for the room so far. */
  logged(): Promise<LogEntry[]>
}

/**
 * Ann (a raw socket on node A) sends 300 single-stroke updates, one update frame each, in small
 * bursts. Bob (A), Carol (B) and Ann herself sent a sync step 1 with an empty state vector first;
 * Erin (B) and Fay (A) send theirs once a third of the updates reached their node, the rest still
 * coming; Dave (B) never sends one. Then one more update while the log is stalled: it is taken in,
 * and nobody (Ann included) sees it until the log holds it. Old defects this catches: an own
 * entry entering twice when its XREAD came before the append's answer (Ann and Bob 2.00x, every
 * clock duplicated); the echo withheld from the writer (Ann 0.00x) or relayed before the append
 * resolved (Ann and Bob see the stalled update while the log has not got it); a joiner's first
 * answer and the relays after it overlapping or leaving a gap (Erin or Fay get clocks twice, or
 * miss some); relays to sockets that never synced (Dave gets updates); a re-sent or retried batch
 * logged twice (clocks logged twice).
 */
async function deliveries(rig: DeliveryRig): Promise<void> {
  const { ann, bob, carol, erin, fay, dave } = rig.users as Record<'ann' | 'bob' | 'carol' | 'erin' | 'fay' | 'dave', TestUser>
  const open = async (node: 'A' | 'B', user: TestUser): Promise<Received> => new Received(await hostileSocket({ collabUrl: rig.url(node) }, rig.room, user.token))
  const annR = await open('A', ann)
  const bobR = await open('A', bob)
  const carolR = await open('B', carol)
  const erinR = await open('B', erin)
  const fayR = await open('A', fay)
  const daveR = await open('B', dave)
  const all = [annR, bobR, carolR, erinR, fayR, daveR]
  try {
    for (const r of [annR, bobR, carolR]) await firstSync(r.socket)
    const doc = new Y.Doc()
    const random = prng(1)
    const updates = Array.from({ length: 300 }, () => strokeUpdate(doc, ann, randomPoints(random, 1)))
    const written = clockOf(doc)
    // Ann sends in small bursts; Erin (node B) and Fay (node A) send their first sync step 1 once
    // a third has reached their node, while the rest is still coming: each one's first answer and
    // the relays after it must add up to every clock once.
    const sending = (async () => {
      for (let i = 0; i < updates.length; i += 5) {
        for (const update of updates.slice(i, i + 5)) annR.socket.send(syncUpdateFrame(update))
        await sleep(2)
      }
    })()
    await waitFor(() => carolR.refresh().clocks >= written / 3, 10_000, 'a third of Ann\'s updates on node B')
    erinR.socket.send(syncStep1(EMPTY_SV))
    await waitFor(() => bobR.refresh().clocks >= written / 3, 10_000, 'a third of Ann\'s updates on node A')
    fayR.socket.send(syncStep1(EMPTY_SV))
    const joinedAt = [carolR.clocks, bobR.clocks]
    await sending
    const receivers = [annR, bobR, carolR, erinR, fayR]
    const names = ['ann', 'bob', 'carol', 'erin', 'fay']
    const figures = (): string => receivers.map((r, i) => `${names[i]} ${r.refresh().clocks}/${written}`).join(', ')
    await waitFor(() => receivers.every((r) => r.refresh().clocks >= written), 20_000, 'every synced socket has all of Ann\'s clocks').catch((error: Error) => {
      throw new Error(`${error.message}: ${figures()}`)
    })

    // Durable before anyone sees it, her included: the log is stalled, the update is taken in.
    rig.stallLog()
    const stalledAt = clockOf(doc)
    const before = Y.encodeStateVector(doc)
    annR.socket.send(syncUpdateFrame(strokeUpdate(doc, ann, [[1, 1]])))
    await barrier(annR.socket, before) // her update was taken in; its append waits for the log
    let seenEarly: string[]
    let loggedEarly: boolean
    try {
      seenEarly = receivers.flatMap((r, i) => (r.has(doc.clientID, stalledAt) ? [names[i]!] : []))
      loggedEarly = holds(await rig.logged(), doc.clientID, stalledAt)
    } finally {
      rig.resumeLog()
    }
    expect(loggedEarly, 'precondition: the stalled append had not reached the log').toBe(false)
    expect(seenEarly, 'sockets that got the update before the log had it').toEqual([])
    await waitFor(() => receivers.every((r) => r.has(doc.clientID, stalledAt)), 15_000, 'the stalled update, once logged, on every synced socket')
    expect(holds(await rig.logged(), doc.clientID, stalledAt)).toBe(true)

    // A last update closes the run: whatever would come twice has come before it.
    annR.socket.send(syncUpdateFrame(strokeUpdate(doc, ann, [[2, 2]])))
    const total = clockOf(doc)
    await waitFor(() => receivers.every((r) => r.refresh().clocks >= total), 15_000, 'the last update everywhere').catch((error: Error) => {
      throw new Error(`${error.message}: ${receivers.map((r) => r.refresh().clocks).join(', ')} of ${total}`)
    })
    const ratio = (r: Received): string => (r.refresh().clocks / total).toFixed(2)
    console.info(`[deliveries] ${total} clocks written; ann (echo) ${ratio(annR)}x, bob ${ratio(bobR)}x, carol ${ratio(carolR)}x, erin (joined on B when it had ${joinedAt[0]}) ${ratio(erinR)}x, fay (joined on A when it had ${joinedAt[1]}) ${ratio(fayR)}x; dave (never synced) ${daveR.updateFrames} update frames`)
    for (const [name, r] of [['ann (her echo)', annR], ['bob', bobR], ['carol', carolR], ['erin (joined mid-run, node B)', erinR], ['fay (joined mid-run, node A)', fayR]] as const) {
      expect(r.duplicates.slice(0, 5), `${name}: clocks received twice`).toEqual([])
      expect(r.clocks, `${name}: clocks received`).toBe(total)
      expect(r.clocksOf(doc.clientID), `${name}: Ann's clocks received`).toBe(total)
    }
    expect(daveR.updateFrames, 'dave never sent a sync step 1').toBe(0)

    // Logged once: every clock in exactly one entry, and every entry tagged by its writer node.
    const entries = await rig.logged()
    const logged = loggedClocks(entries)
    expect(logged.duplicates.slice(0, 5), 'clocks logged twice').toEqual([])
    expect(logged.clocks).toBe(total)
    expect(entries.filter((e) => e.tag === '').length, 'entries without a tag').toBe(0)
    for (const r of all) expect(deniedReasons(r.socket)).toEqual([])
    for (const r of all) expect(r.socket.ws.readyState).toBe(WebSocket.OPEN)
  } finally {
    for (const r of all) r.socket.ws.close()
  }
}

describe('1. deliveries: each logged update reaches every other socket once, and its writer once after it is logged', () => {
  describe('Redis log, 2 nodes', () => {
    let cluster: TestCluster
    let proxy: TcpProxy
    let redis: RedisDirect
    beforeAll(async () => {
      let redisUrl = ''
      // Node A reaches Redis through a proxy (to stall its appends); REDIS_TIMEOUT_MS is long so a
      // short stall never counts as Redis down. Compactions run during the run (every 100 updates:
      // bases are adopted while updates flow); the minimum entry age keeps every entry readable.
      cluster = await startCluster(2, { REDIS_TIMEOUT_MS: '10000', COMPACT_EVERY_UPDATES: '100', REDIS_MIN_ENTRY_AGE_MS: '60000', INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE: '100000' }, {
        beforeNodes: async (server) => {
          redisUrl = server.url
          proxy = await startTcpProxy(server.port)
        },
        nodeEnv: (index): Record<string, string> => (index === 0 ? { REDIS_URL: proxy.url(redisUrl) } : {}),
      })
      redis = await redisDirect(cluster.env.REDIS_URL!)
    }, 60_000)
    afterAll(async () => {
      proxy?.heal()
      await redis?.close()
      await proxy?.close()
      await cluster?.close()
    })

    it('300 updates from Ann on node A: 1.00x on every synced socket of both nodes, 1.00x back to her, each after the log has it', async () => {
      const { room, users } = await usersIn(cluster.api(0), ['ann', 'bob', 'carol', 'erin', 'fay', 'dave'])
      await deliveries({
        url: (node) => cluster.nodes[node === 'A' ? 0 : 1]!.collabUrl,
        room,
        users,
        stallLog: () => proxy.blackhole(),
        resumeLog: () => proxy.heal(),
        logged: () => redis.entries(room),
      })
    }, 60_000)
  })

  describe('embedded log, 1 node', () => {
    let rig: EmbeddedRig
    beforeAll(async () => {
      rig = await embeddedRig({ compactEveryUpdates: 100 })
    })
    afterAll(async () => {
      await rig?.close()
    })

    it('300 updates from Ann: 1.00x on every synced socket, 1.00x back to her, each after the log has it', async () => {
      const { room, users } = await usersIn(injectApi(rig.server.app), ['ann', 'bob', 'carol', 'erin', 'fay', 'dave'])
      await deliveries({
        url: () => rig.server.collabUrl,
        room,
        users,
        stallLog: () => rig.stall(),
        resumeLog: () => rig.resume(),
        logged: async () => [...rig.appended],
      })
    }, 60_000)
  })
})

// =================================================================================================
// 2. Fill
// =================================================================================================

interface FillRig {
  url(node: 'A' | 'B'): string
  room: string
  users: Record<string, TestUser>
  /** Every entry of the room's log (no compaction runs: nothing is trimmed, there is no snapshot). */
  entries(): Promise<LogEntry[]>
  /** The document's size as the log itself counts it, where it keeps a count apart (Redis). */
  counted(): Promise<number | null>
  clients: Client[]
}

/**
 * Ann draws ~18 KB on node A (stock client). Mallory, on node B, holds all of it in her replica
 * and draws one stroke; then re-sends Y.encodeStateAsUpdate of her replica 12 times, one new point
 * each, then twice with nothing new (as an update and as a sync step 2). Hal, on node A, then
 * draws ~1.8 KB strokes until refused. Old defect: re-sent content was logged and counted whole,
 * so the 12 re-sends alone added ~220 KB to a 256 KiB document: Hal was refused at about a sixth
 * of the limit, the log held Ann's clocks 13 times, and the unchanged re-sends added entries.
 */
async function fill(rig: FillRig): Promise<void> {
  const { ann, mallory, hal } = rig.users as Record<'ann' | 'mallory' | 'hal', TestUser>
  const random = prng(2)
  const annClient = await connectSynced(rig.url('A'), rig.room, { token: ann.token })
  rig.clients.push(annClient)
  for (let i = 0; i < 10; i++) strokeUpdate(annClient.doc, ann, randomPoints(random, 100))
  const annBytes = Y.encodeStateAsUpdate(annClient.doc).length

  const mallorySocket = await hostileSocket({ collabUrl: rig.url('B') }, rig.room, mallory.token)
  const halSocket = await hostileSocket({ collabUrl: rig.url('A') }, rig.room, hal.token)
  const malloryR = new Received(mallorySocket, new Y.Doc())
  const halR = new Received(halSocket)
  try {
    const mdoc = malloryR.doc!
    await firstSync(mallorySocket)
    await firstSync(halSocket)
    await waitFor(() => malloryR.refresh() && readStrokes(mdoc).length === 10, 10_000, 'Mallory\'s replica holds Ann\'s strokes')

    // Mallory's own stroke, then 12 whole-document re-sends with one new point each.
    let stroke: Y.Map<unknown> | undefined
    mdoc.transact(() => void (stroke = addStroke(mdoc, { author: mallory.id, color: '#aa2020', width: 2, tool: 'pen', points: [[0, 0]] })))
    const mine = (): Y.Map<unknown> => stroke!
    mallorySocket.send(syncUpdateFrame(Y.encodeStateAsUpdate(mdoc)))
    await waitFor(() => malloryR.has(mdoc.clientID, clockOf(mdoc) - 1), 10_000, 'Mallory\'s stroke echoed')
    const bytesBefore = loggedClocks(await rig.entries()).bytes
    const resent: number[] = []
    for (let i = 1; i <= 12; i++) {
      appendPoints(mine(), [[i, i]])
      const whole = Y.encodeStateAsUpdate(mdoc)
      resent.push(whole.length)
      mallorySocket.send(syncUpdateFrame(whole))
      await waitFor(() => malloryR.has(mdoc.clientID, clockOf(mdoc) - 1) || mallorySocket.ws.readyState !== WebSocket.OPEN, 10_000, `re-send ${i} echoed`)
      if (mallorySocket.ws.readyState !== WebSocket.OPEN) {
        const { code, reason } = await mallorySocket.closed
        throw new Error(`Mallory was refused at re-send ${i} of 12 (close ${code} ${reason}; denied: ${deniedReasons(mallorySocket).join('; ')})`)
      }
    }
    const added = loggedClocks(await rig.entries()).bytes - bytesBefore
    console.info(`[fill] Ann drew ${annBytes} B; Mallory re-sent 12 x ~${Math.round(resent.reduce((a, b) => a + b, 0) / 12)} B (${resent.reduce((a, b) => a + b, 0)} B) with one new point each: the log grew by ${added} B`)
    expect(Math.min(...resent), 'precondition: each re-send carries the whole document').toBeGreaterThan(annBytes)
    expect(added, 'bytes the 12 re-sends added to the log (12 points)').toBeLessThan(12 * 100)

    // Content the document has already: nothing logged, nothing relayed, whatever message carries it.
    const entriesBefore = (await rig.entries()).length
    // Hal may be on the other node: what he has of the re-sends so far reaches him through the log.
    await waitFor(() => halR.refresh().has(mdoc.clientID, clockOf(mdoc) - 1), 10_000, 'Hal holding every re-sent point so far')
    const halFramesBefore = halR.refresh().clocks
    mallorySocket.send(syncUpdateFrame(Y.encodeStateAsUpdate(mdoc)))
    mallorySocket.send(syncStep2(Y.encodeStateAsUpdate(mdoc)))
    await barrier(mallorySocket, Y.encodeStateVector(mdoc))
    appendPoints(mine(), [[99, 99]]) // one new point behind them: once it is echoed, anything queued before it is logged
    mallorySocket.send(syncUpdateFrame(Y.encodeStateAsUpdate(mdoc)))
    await waitFor(() => malloryR.has(mdoc.clientID, clockOf(mdoc) - 1), 10_000, 'the point behind the known re-sends echoed')
    const after = await rig.entries()
    expect(after.length - entriesBefore, 'log entries added by two re-sends of known content and one new point').toBe(1)
    expect(loggedClocks(after.slice(entriesBefore)).clocks, 'clocks in that one entry').toBe(2)
    await waitFor(() => halR.refresh().clocks >= halFramesBefore + 2, 10_000, 'the new point reaches Hal')
    expect(halR.clocks - halFramesBefore, 'clocks Hal got from the known re-sends and the new point').toBe(2)
    expect(malloryR.refresh().duplicates.slice(0, 5), 'clocks Mallory got back twice').toEqual([])
    expect(halR.duplicates.slice(0, 5), 'clocks Hal got twice').toEqual([])

    // Hal fills the document: each stroke acknowledged by its echo, until one is refused.
    const halDoc = new Y.Doc()
    let accepted = 0
    let refusedBytes = 0
    for (;;) {
      const update = strokeUpdate(halDoc, hal, randomPoints(random, 100))
      halSocket.send(syncUpdateFrame(update))
      await waitFor(() => halR.has(halDoc.clientID, clockOf(halDoc) - 1) || halSocket.ws.readyState !== WebSocket.OPEN, 10_000, `Hal's stroke ${accepted + 1} echoed or refused`)
      if (halSocket.ws.readyState !== WebSocket.OPEN) {
        refusedBytes = update.length
        break
      }
      accepted++
      if (accepted > 1000) throw new Error('the document never filled')
    }
    const closed = await halSocket.closed
    // No compaction runs in these rigs: the document is exactly what its log entries hold.
    const entries = await rig.entries()
    const stored = loggedClocks(entries)
    const counted = await rig.counted()
    const share = stored.bytes / MAX_DOC
    console.info(`[fill] Hal: ${accepted} strokes accepted, refused at ${stored.bytes} B stored = ${(share * 100).toFixed(1)}% of ${MAX_DOC} (log's own count ${counted ?? 'n/a'}); the refused stroke was ${refusedBytes} B`)
    expect(closed.code, `Hal's close (${closed.reason}); denied: ${deniedReasons(halSocket).join('; ')}`).toBe(CloseCode.documentTooLarge)
    expect(deniedReasons(halSocket), 'what Hal was told').toEqual(['document is full'])
    expect(stored.duplicates.slice(0, 5), 'clocks logged twice').toEqual([])
    expect(share, 'share of MAX_DOC_BYTES the document holds when Hal is refused').toBeGreaterThanOrEqual(0.95)
    expect(stored.bytes + refusedBytes, 'refused although it fit').toBeGreaterThan(MAX_DOC)
    if (counted !== null) expect(counted, 'the log\'s own count of the document\'s size').toBe(stored.bytes)
    expect(mallorySocket.ws.readyState, 'Mallory was never refused').toBe(WebSocket.OPEN)
    expect(annClient.closeEvents, 'Ann was never closed').toEqual([])
    expect(deniedReasons(mallorySocket)).toEqual([])
  } finally {
    mallorySocket.ws.close()
    halSocket.ws.close()
  }
}

const NO_COMPACTION = { COMPACT_EVERY_UPDATES: '1000000', COMPACT_IDLE_MS: '3600000', COMPACT_SWEEP_MS: '3600000' }

describe('2. fill: only what the document lacked is logged and counted against MAX_DOC_BYTES', () => {
  describe('Redis log, 2 nodes', () => {
    let cluster: TestCluster
    let redis: RedisDirect
    const clients: Client[] = []
    beforeAll(async () => {
      cluster = await startCluster(2, { MAX_DOC_BYTES: String(MAX_DOC), ...NO_COMPACTION, INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE: '100000' })
      redis = await redisDirect(cluster.env.REDIS_URL!)
    }, 60_000)
    afterAll(async () => {
      for (const client of clients) client.destroy()
      await redis?.close()
      await cluster?.close()
    })

    it('re-sent content costs nothing; an honest writer fills the document to >= 95% before the first refusal', async () => {
      const { room, users } = await usersIn(cluster.api(0), ['ann', 'mallory', 'hal'])
      await fill({
        url: (node) => cluster.nodes[node === 'A' ? 0 : 1]!.collabUrl,
        room,
        users,
        entries: () => redis.entries(room),
        counted: () => redis.counted(room),
        clients,
      })
    }, 60_000)
  })

  describe('embedded log, 1 node', () => {
    let rig: EmbeddedRig
    const clients: Client[] = []
    beforeAll(async () => {
      rig = await embeddedRig({ compactEveryUpdates: 1_000_000, compactIdleMs: 3_600_000, compactSweepMs: 3_600_000 })
    })
    afterAll(async () => {
      for (const client of clients) client.destroy()
      await rig?.close()
    })

    it('re-sent content costs nothing; an honest writer fills the document to >= 95% before the first refusal', async () => {
      const { room, users } = await usersIn(injectApi(rig.server.app), ['ann', 'mallory', 'hal'])
      await fill({
        url: () => rig.server.collabUrl,
        room,
        users,
        entries: () => rig.server.app.updateLog.read(room, LOG_START, 1_000_000),
        counted: async () => null,
        clients,
      })
    }, 60_000)
  })
})

// =================================================================================================
// 3. A node behind the trim
// =================================================================================================

const SILENCE_MS = 5_000
const CATCH_UP_MS = 5_000

describe('3. a node whose log reader falls behind the trim catches up from the snapshot and sends its sockets what they lacked', () => {
  let cluster: TestCluster
  let proxy: TcpProxy
  let redis: RedisDirect
  const clients: Client[] = []
  beforeAll(async () => {
    let redisUrl = ''
    // Every Redis timer node B runs is shorter than the silence: commands and PINGs fail after
    // 1.5 s, its XREAD (blocking 2 s) after 3.5 s. Node A compacts every 200 updates and trims at
    // once (no minimum entry age), so it trims past node B's position while B hears nothing.
    cluster = await startCluster(2, { REDIS_MIN_ENTRY_AGE_MS: '0', REDIS_TIMEOUT_MS: '1500', INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE: '100000' }, {
      beforeNodes: async (server) => {
        redisUrl = server.url
        proxy = await startTcpProxy(server.port)
      },
      nodeEnv: (index): Record<string, string> => (index === 0 ? { COMPACT_EVERY_UPDATES: '200' } : { REDIS_URL: proxy.url(redisUrl) }),
    })
    redis = await redisDirect(cluster.env.REDIS_URL!)
  }, 60_000)
  afterAll(async () => {
    proxy?.heal()
    for (const client of clients) client.destroy()
    await redis?.close()
    await proxy?.close()
    await cluster?.close()
  })

  /**
   * Old defects this catches: a reader that resumed from its old id after the trim and silently
   * skipped what was trimmed (Bob and any client of node B miss most of the 2,500 strokes for
   * good); a node that reloaded its room from the snapshot without sending its sockets what the
   * snapshot added (a fresh client on B has everything, Bob's live one does not); sending them the
   * whole snapshot again (Carol's raw socket gets clocks twice).
   */
  it('node B, silent for 5 s while node A writes 2,500 updates, compacts and trims past it, serves everything within 5 s of healing', async () => {
    const { room, users } = await usersIn(cluster.api(0), ['ann', 'bob', 'carol'])
    const { ann, bob, carol } = users as Record<'ann' | 'bob' | 'carol', TestUser>
    const [A, B] = [cluster.nodes[0]!, cluster.nodes[1]!]
    const annClient = await connectSynced(A.collabUrl, room, { token: ann.token })
    const bobClient = await connectSynced(B.collabUrl, room, { token: bob.token })
    clients.push(annClient, bobClient)
    const carolR = new Received(await hostileSocket(B, room, carol.token))
    await firstSync(carolR.socket)
    const random = prng(3)
    for (let i = 0; i < 10; i++) strokeUpdate(annClient.doc, ann, randomPoints(random, 2))
    await waitFor(() => readStrokes(bobClient.doc).length === 10, 10_000, 'node B follows the log')
    const seenByB = await redis.head(room)

    proxy.blackhole()
    const silentSince = Date.now()
    const freshA = connectClient(A.collabUrl, room, { token: ann.token })
    clients.push(freshA)
    try {
      for (let i = 0; i < 2_500; i++) strokeUpdate(annClient.doc, ann, randomPoints(random, 1))
      await waitFor(() => readStrokes(freshA.doc).length === 2_510, 15_000, 'node A logged all 2,510 strokes')
      await waitFor(async () => {
        const oldest = await redis.oldest(room)
        return oldest === null || compareLogIds(oldest, seenByB) > 0
      }, 10_000, 'node A trimmed the log past what node B has read')
      await waitFor(async () => {
        const response = await fetch(`${B.url}/readyz`)
        return response.status === 503 && ((await response.json()) as { log: string }).log === 'down'
      }, SILENCE_MS, 'node B finds Redis silent')
      expect(readStrokes(bobClient.doc).length, 'precondition: node B did not hear the writes').toBe(10)
      await sleep(Math.max(0, silentSince + SILENCE_MS - Date.now())) // the fault lasts its full length
    } finally {
      proxy.heal()
    }
    const healedAt = Date.now()
    const wanted = (): { sv: string; strokes: string } => ({ sv: svOf(freshA.doc), strokes: JSON.stringify(readStrokes(freshA.doc)) })
    expect(readStrokes(freshA.doc)).toHaveLength(2_510)
    const freshB = connectClient(B.collabUrl, room, { token: carol.token })
    clients.push(freshB)
    const matches = (doc: Y.Doc): boolean => svOf(doc) === wanted().sv && JSON.stringify(readStrokes(doc)) === wanted().strokes
    await waitFor(() => matches(bobClient.doc) && matches(freshB.doc), CATCH_UP_MS, 'Bob\'s live client and a fresh client on node B hold what node A\'s fresh client holds').catch(async (error: Error) => {
      const ready = await fetch(`${B.url}/readyz`).then((r) => r.text(), (e: Error) => e.message)
      throw new Error(`${error.message}: after ${Date.now() - healedAt} ms node A's fresh client has ${readStrokes(freshA.doc).length} strokes, Bob ${readStrokes(bobClient.doc).length}, fresh B ${readStrokes(freshB.doc).length}; node B /readyz ${ready}`)
    })
    const caughtUpMs = Date.now() - healedAt
    const total = clockOf(annClient.doc)
    await waitFor(() => carolR.refresh().clocks >= total, CATCH_UP_MS, 'Carol\'s raw socket on node B has all of Ann\'s clocks')
    console.info(`[lag] node B caught up ${caughtUpMs} ms after healing; log oldest ${await redis.oldest(room)} > B's last read ${seenByB}; Carol got ${(carolR.clocks / total).toFixed(2)}x of ${total} clocks`)
    expect(carolR.duplicates.slice(0, 5), 'clocks node B sent Carol twice').toEqual([])
    expect(carolR.clocks).toBe(total)
    expect(Y.decodeStateVector(Y.encodeStateVector(bobClient.doc)).get(annClient.doc.clientID)).toBe(total)
    expect(bobClient.closeEvents).toEqual([])
    carolR.socket.ws.close()
  }, 90_000)
})

function svOf(doc: Y.Doc): string {
  return JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(doc))].sort((a, b) => a[0] - b[0]))
}
