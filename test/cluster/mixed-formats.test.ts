/**
 * Presence between a node of the previous release (generation 1: unversioned frames, no
 * registry) and a current one, over a real Redis: the current node hears the old one and speaks
 * its format, a room loading on it hears the old node's answer at once (no wait for answers that
 * cannot come), presence crosses both ways, and once the old node is gone the newer format takes
 * over. Frames of unknown versions and junk are dropped and counted; a newer node's query is still
 * answered. Access events cross between the two in the old node's format.
 */
import pino from 'pino'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { RedisAwarenessRelay, type RoomPresence } from '../../server/cluster/awareness-relay.ts'
import { FormatNegotiator, type FormatTiming } from '../../server/cluster/format-negotiator.ts'
import { FormatRegistry } from '../../server/cluster/format-registry.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { decodeRelayFrame, encodeRelayFrame, RelayKind } from '../../server/cluster/relay-frame.ts'
import { BackgroundFailures } from '../../server/background-loop.ts'
import type { AccessEvent } from '../../server/events/bus.ts'
import { RedisBus } from '../../server/events/redis-bus.ts'
import { CURRENT_GENERATION } from '../../server/cluster/wire-format.ts'
import { encodePresenceAnswer, encodeRelayedPresence, type RelayedPresence } from '../../server/collab/presence/presence-relay-codec.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { waitFor } from '../helpers/wait.ts'

const logger = pino({ level: 'silent' })
const PREFIX = 'mixed:'
/** Old nodes heartbeat every 2 s: one is taken for gone after 3 s of silence here. */
const TIMING: Partial<FormatTiming> = { heartbeatMs: 100, entryTtlMs: 1_000, legacySilentAfterMs: 3_000, startupWindowMs: 300 }
const OLD = 'oldoldoldoldoldoldold0' // ids are 22 characters, as shared/ids.ts makes them
const NEW = 'newnewnewnewnewnewnew0'
const NEWER = 'newernewernewernewer00'
const OTHER_NODE = 'otherotherotherother00'

let redis: RedisServer
const closers: Array<() => Promise<unknown> | unknown> = []

beforeAll(async () => {
  redis = await startRedis({ persistent: false })
}, 30_000)

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

afterAll(async () => {
  await redis?.destroy()
})

async function node(id: string, generation: number): Promise<{ relay: RedisAwarenessRelay; formats: FormatNegotiator; clients: RedisClients }> {
  const clients = await RedisClients.connect(redis.url, logger)
  const registry = new FormatRegistry({ redis: clients.keyed, channels: clients.nodeChannels, prefix: PREFIX, ttlMs: TIMING.entryTtlMs! })
  const formats = new FormatNegotiator({ nodeId: id, generation, registry, logger, timing: TIMING })
  await formats.start()
  const relay = new RedisAwarenessRelay({ roomChannels: clients.roomChannels, nodeChannels: clients.nodeChannels, isReady: () => clients.commandsReady(), keyspace: clients.keyspace(PREFIX), prefix: PREFIX, nodeId: id, logger, formats })
  closers.push(() => clients.close(), () => formats.close(), () => relay.close())
  return { relay, formats, clients }
}

interface Recorded extends RoomPresence {
  applied: Array<{ node: string; states: RelayedPresence[] }>
  heardAt: number | null
}

function room(states: RelayedPresence[] = []): Recorded {
  const recorded: Recorded = {
    applied: [],
    heardAt: null,
    apply: (node, entries) => recorded.applied.push({ node, states: entries }),
    learn: () => {},
    remove: () => {},
    answer: () => encodePresenceAnswer(states.map((s) => ({ ...s, json: s.json.toString() })), []),
    heard: () => { recorded.heardAt = Date.now() },
  }
  return recorded
}

const cursor = (clientId: number, userId: string): RelayedPresence => ({ clientId, clock: 1, json: Buffer.from('{"cursor":1}'), userId, canWrite: true })
const change = (clientId: number, userId: string) => ({ clientId, clock: 2, json: '{"cursor":2}', userId, canWrite: true })

/** Every frame published on a room's channel, as raw bytes. */
async function tap(clients: RedisClients, roomName: string): Promise<Buffer[]> {
  const frames: Buffer[] = []
  const listener = (message: Buffer): void => void frames.push(message)
  const channel = clients.keyspace(PREFIX).roomChannel('aw', roomName)
  await clients.roomChannels.subscribe(channel, listener)
  closers.push(() => clients.roomChannels.unsubscribe(channel, listener))
  return frames
}

it('speaks the old node\'s format while it is live, hears its answer at once, and takes the newer format once it left', async () => {
  const old = await node(OLD, 1)
  const current = await node(NEW, CURRENT_GENERATION)
  const onOld = room([cursor(11, 'u-old')])
  closers.push(old.relay.join('r1', onOld))
  await waitFor(() => current.formats.sending('presence') === 1 && current.formats.status().oldNodes.includes(OLD), 10_000, 'the old node heard')

  const loadedAt = Date.now()
  const onNew = room([cursor(22, 'u-new')])
  closers.push(current.relay.join('r1', onNew))
  await waitFor(() => onNew.heardAt, 5_000, 'the new node heard the room\'s presence')
  expect(onNew.heardAt! - loadedAt).toBeLessThan(1_500) // the old node answered: no 2 s backstop
  expect(onNew.applied.map((a) => [a.node, a.states.map((s) => s.clientId)])).toContainEqual([OLD, [11]])

  current.relay.publish('r1', encodeRelayedPresence([change(22, 'u-new')]))
  await waitFor(() => onOld.applied.some((a) => a.node === NEW && a.states.some((s) => s.clientId === 22)), 5_000, 'the old node applied the new node\'s presence')
  old.relay.publish('r1', encodeRelayedPresence([change(11, 'u-old')]))
  await waitFor(() => onNew.applied.some((a) => a.node === OLD && a.states.some((s) => s.clock === 2)), 5_000, 'the new node applied the old node\'s presence')
  expect(old.formats.drops().filter((d) => d.kind === 'presence' && d.reason === 'malformed')).toEqual([])

  const frames = await tap(current.clients, 'r1')
  await old.relay.close() // the old node leaves: no more heartbeats
  await waitFor(() => current.formats.sending('presence') === 2, 10_000, 'the newer format took over')
  expect(current.formats.status().oldNodes).toEqual([])
  current.relay.publish('r1', encodeRelayedPresence([change(22, 'u-new')]))
  const sent = await waitFor(() => frames.find((f) => decodeRelayFrame(f, { reads: () => true, legacySenderLength: 22 }).ok), 5_000, 'a frame sent after the switch')
  expect(decodeRelayFrame(sent, { reads: () => true, legacySenderLength: 22 })).toMatchObject({ ok: true, frame: { version: 2, sender: NEW } })
}, 30_000)

it('answers a query from a newer node it cannot read, and drops and counts what it cannot read', async () => {
  const current = await node(NEW, CURRENT_GENERATION)
  const onNew = room([cursor(33, 'u-new')])
  closers.push(current.relay.join('r2', onNew))
  await waitFor(() => onNew.heardAt, 5_000, 'joined')
  const frames = await tap(current.clients, 'r2')
  const channel = current.clients.keyspace(PREFIX).roomChannel('aw', 'r2')

  await current.clients.roomChannels.publish(channel, encodeRelayFrame({ version: 9, kind: RelayKind.query, sender: NEWER, payload: new Uint8Array([0xff]) }))
  await current.clients.roomChannels.publish(channel, encodeRelayFrame({ version: 9, kind: RelayKind.update, sender: NEWER, payload: new Uint8Array([0xff]) }))
  const badPayload = encodeRelayFrame({ version: 2, kind: RelayKind.update, sender: OTHER_NODE, payload: new Uint8Array([0xff, 0xff]) })
  for (const junk of [Buffer.from([0xc5]), Buffer.from([7, 1, 2]), Buffer.from('x'.repeat(40)), Buffer.from([0, 1, 2]), badPayload]) await current.clients.roomChannels.publish(channel, junk)

  const answer = await waitFor(() => frames.map((f) => decodeRelayFrame(f, { reads: () => true, legacySenderLength: 22 })).find((r) => r.ok && r.frame.kind === RelayKind.answer && r.frame.sender === NEW), 5_000, 'an answer to the newer node')
  expect(answer.ok && answer.frame.version).toBe(2)
  await waitFor(() => current.formats.drops().reduce((sum, d) => sum + d.count, 0) === 7, 5_000, 'drops counted')
  expect(current.formats.drops()).toEqual(expect.arrayContaining([
    { kind: 'presence', reason: 'unknown_version', count: 2 },
    { kind: 'presence', reason: 'malformed', count: 5 },
  ]))
  expect(onNew.applied.filter((a) => a.node === NEWER)).toEqual([])
}, 30_000)

it('access events cross between an old and a new node in the old format; junk and newer versions are dropped and counted', async () => {
  const old = await node(OLD, 1)
  const current = await node(NEW, CURRENT_GENERATION)
  const failures = new BackgroundFailures()
  const oldBus = await RedisBus.start(old.clients, { prefix: PREFIX, nodeId: OLD, logger, failures, formats: old.formats })
  const newBus = await RedisBus.start(current.clients, { prefix: PREFIX, nodeId: NEW, logger, failures, formats: current.formats })
  closers.push(() => oldBus.close(), () => newBus.close())
  const onOld: AccessEvent[] = []
  const onNew: AccessEvent[] = []
  oldBus.subscribe((event) => onOld.push(event))
  newBus.subscribe((event) => onNew.push(event))

  await oldBus.publish({ type: 'group-changed', groupId: 'from-old' })
  await waitFor(() => onNew.some((e) => e.groupId === 'from-old'), 5_000, 'the old node\'s event on the new node')
  expect(current.formats.sending('access')).toBe(1) // an unversioned event from a node with no entry: an old node
  await newBus.publish({ type: 'membership', groupId: 'from-new', userId: 'u1', role: null })
  await waitFor(() => onOld.some((e) => e.groupId === 'from-new'), 5_000, 'the new node\'s event on the old node')

  const channel = `${PREFIX}events`
  for (const junk of ['{', '[]', JSON.stringify({ node: OTHER_NODE, event: { type: 'membership', groupId: 'g' } }), JSON.stringify({ v: 7, node: OTHER_NODE, event: { anything: 1 } })]) {
    await current.clients.nodeChannels.publish(channel, junk)
  }
  await waitFor(() => current.formats.drops().reduce((sum, d) => sum + d.count, 0) === 4, 5_000, 'the new node counted what it dropped')
  expect(current.formats.drops()).toEqual(expect.arrayContaining([{ kind: 'access', reason: 'malformed', count: 3 }, { kind: 'access', reason: 'unknown_version', count: 1 }]))
  expect(onNew.map((e) => e.groupId)).toEqual(['from-old', 'from-new']) // its own, delivered at once; none of the junk
}, 30_000)
