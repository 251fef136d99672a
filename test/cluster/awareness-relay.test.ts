/**
 * A node that loads a room asks the others for their presence and is told `heard` only once every
 * other node that got the question answered (PUBLISH says how many did), with their states and the
 * claims they remember; a node that never answers holds it up only until the bounded backstop;
 * a single node (no relay) hears at once.
 */
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { noRelay, RedisAwarenessRelay, type RoomPresence } from '../../server/cluster/awareness-relay.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import { decodePresenceAnswer, encodePresenceAnswer, type RelayedClaim, type RelayedPresence } from '../../server/collab/presence/presence-relay-codec.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { waitFor } from '../helpers/wait.ts'

const logger = pino({ level: 'silent' })
const PREFIX = 'relay-test:'
let redis: RedisServer
const opened: RedisClients[] = []
const relays: RedisAwarenessRelay[] = []
const leaves: Array<() => void> = []

beforeAll(async () => {
  redis = await startRedis({ persistent: false })
}, 30_000)

afterEach(async () => {
  for (const leave of leaves.splice(0)) leave()
  await Promise.all(relays.splice(0).map((relay) => relay.close()))
  await Promise.all(opened.splice(0).map((clients) => clients.close()))
})

afterAll(async () => {
  await redis?.destroy()
})

async function node(id: string): Promise<RedisAwarenessRelay> {
  const clients = await RedisClients.connect(redis.url, logger)
  opened.push(clients)
  const relay = new RedisAwarenessRelay({ roomChannels: clients.roomChannels, nodeChannels: clients.nodeChannels, isReady: () => clients.commandsReady(), keyspace: clients.keyspace(PREFIX), prefix: PREFIX, nodeId: id, logger })
  relays.push(relay)
  return relay
}

type Event = { kind: 'apply'; node: string; states: RelayedPresence[] } | { kind: 'learn'; claims: RelayedClaim[] } | { kind: 'heard'; at: number }

/** A room's presence that records what the relay tells it, and answers with `answer`. */
function room(answer: Uint8Array = encodePresenceAnswer([], [])): RoomPresence & { events: Event[] } {
  const events: Event[] = []
  return {
    events,
    apply: (node, states) => events.push({ kind: 'apply', node, states }),
    learn: (claims) => events.push({ kind: 'learn', claims }),
    remove: () => {},
    answer: () => answer,
    heard: () => events.push({ kind: 'heard', at: Date.now() }),
  }
}

const heard = (r: { events: Event[] }) => r.events.some((e) => e.kind === 'heard')

describe('hearing the cluster\'s presence when a room loads', () => {
  it('is told heard at once with no relay (a single node)', () => {
    const alone = room()
    noRelay.join('canvas', alone)
    expect(heard(alone)).toBe(true)
  })

  it('is told heard once its query went out when no other node has the room', async () => {
    const a = await node('node-a')
    const alone = room()
    leaves.push(a.join('r1', alone))
    await waitFor(() => heard(alone), 5_000, 'heard')
    expect(alone.events.filter((e) => e.kind === 'heard')).toHaveLength(1)
  })

  it('hears the other nodes\' states and remembered claims before it is told heard', async () => {
    const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map(node))
    const state = { clientId: 7, clock: 3, json: '{"cursor":{"x":1}}', userId: 'u-bob', canWrite: true }
    const claim = { clientId: 42, userId: 'u-alice', canWrite: true } // her socket is gone; her id stays hers
    const onA = room(encodePresenceAnswer([state], [claim]))
    const onC = room()
    leaves.push(a!.join('r2', onA), c!.join('r2', onC))
    await waitFor(() => heard(onA) && heard(onC), 5_000, 'the first nodes settled')

    const onB = room()
    leaves.push(b!.join('r2', onB))
    await waitFor(() => heard(onB), 5_000, 'heard')
    const before = onB.events.slice(0, onB.events.findIndex((e) => e.kind === 'heard'))
    expect(before.filter((e) => e.kind === 'apply').map((e) => e.node).sort()).toEqual(['node-a', 'node-c'])
    expect(before).toContainEqual({ kind: 'learn', claims: [claim] })
    const expected = decodePresenceAnswer(encodePresenceAnswer([state], [])).states
    expect(before).toContainEqual({ kind: 'apply', node: 'node-a', states: expected })
  })

  it('waits for a node that got the query and never answers only up to a bounded backstop', async () => {
    const a = await node('node-a')
    const silent = await RedisClients.connect(redis.url, logger) // subscribed to the room, answers nothing
    opened.push(silent)
    await silent.sub.subscribe(`${PREFIX}aw:r3`, () => {})
    const started = Date.now()
    const cold = room()
    leaves.push(a.join('r3', cold))
    const event = await waitFor(() => cold.events.find((e) => e.kind === 'heard'), 10_000, 'heard after the backstop')
    expect(event.kind === 'heard' && event.at - started).toBeGreaterThanOrEqual(1_500)
  })
})
