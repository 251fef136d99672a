/**
 * Revocation must reach every node even when the access event does not. The owner removes a
 * member through node 0 while node 0's path to Redis is silent, so its publish fails (and keeps
 * failing: the path stays silent longer than the deadline). The member's socket on node 1 must
 * still close with 4403 within REVOCATION_DEADLINE_MS: node 1 re-checks its sockets' roles
 * against storage. Once Redis takes events again, a kept event is republished.
 */
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CloseCode } from '../../shared/close-codes.ts'
import { BackgroundFailures } from '../../server/background-loop.ts'
import { RedisClients } from '../../server/cluster/redis-clients.ts'
import type { AccessEvent } from '../../server/events/bus.ts'
import { RedisBus } from '../../server/events/redis-bus.ts'
import { addMember, createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'
import { waitFor } from '../helpers/wait.ts'

/** The promise under test, as the product states it (README: REVOCATION_DEADLINE_MS). */
const REVOCATION_DEADLINE_MS = 4_000

let cluster: TestCluster
let proxy: TcpProxy
let owner: TestUser
const clients: Client[] = []

beforeAll(async () => {
  let redisUrl = ''
  cluster = await startCluster(2, {
    REVOCATION_DEADLINE_MS: String(REVOCATION_DEADLINE_MS),
    ACCESS_CACHE_TTL_MS: String(REVOCATION_DEADLINE_MS),
    REDIS_TIMEOUT_MS: '1000',
  }, {
    beforeNodes: async (redis) => {
      redisUrl = redis.url
      proxy = await startTcpProxy(redis.port)
    },
    nodeEnv: (index): Record<string, string> => (index === 0 ? { REDIS_URL: proxy.url(redisUrl) } : {}),
  })
  owner = await registerUser(cluster.api(1), 'Owner')
}, 60_000)

afterAll(async () => {
  for (const client of clients) client.destroy()
  await proxy?.close()
  await cluster?.close()
})

it('closes a removed member\'s socket on another node within the deadline though the event was never published', async () => {
  const group = await createGroup(cluster.api(1), owner)
  const member = await registerUser(cluster.api(1), 'Member')
  await addMember(cluster.api(1), owner, group.id, member, 'editor')
  const socket = await connectSynced(cluster.nodes[1]!.collabUrl, group.rooms.canvas, { token: member.token })
  clients.push(socket)

  proxy.blackhole() // node 0 can no longer publish; Redis itself, and node 1, are fine
  const removedAt = Date.now()
  const removed = await cluster.api(0)('DELETE', `/groups/${group.id}/members/${member.id}`, { token: owner.token })
  expect(removed.status).toBe(204)
  // Twice the deadline: margin for a loaded machine. The path stays silent throughout, so only
  // node 1's own re-check can close the socket.
  await waitFor(() => socket.closeEvents.length > 0, 2 * REVOCATION_DEADLINE_MS, 'the socket on node 1 closed')
  const closedAfter = Date.now() - removedAt
  expect(socket.closeEvents[0]?.code).toBe(CloseCode.forbidden)
  console.info(`[revocation] event lost: socket on the other node closed ${closedAfter} ms after the removal (deadline ${REVOCATION_DEADLINE_MS} ms)`)
  proxy.heal()
}, 60_000)

it('publishes an access event it could not publish once Redis takes it again', async () => {
  const logger = pino({ level: 'silent' })
  const failures = new BackgroundFailures()
  const cutOff = await RedisClients.connect(proxy.url(cluster.env.REDIS_URL!), logger, { timeoutMs: 500, failures })
  const direct = await RedisClients.connect(cluster.env.REDIS_URL!, logger, { failures })
  const publisher = await RedisBus.start(cutOff, { prefix: 'republish:', nodeId: 'a', logger, failures })
  const listener = await RedisBus.start(direct, { prefix: 'republish:', nodeId: 'b', logger, failures })
  const heard: AccessEvent[] = []
  listener.subscribe((event) => heard.push(event))
  const event: AccessEvent = { type: 'membership', groupId: 'g-republish', userId: 'u1', role: null }
  proxy.blackhole()
  await publisher.publish(event) // fails after 500 ms; kept
  await waitFor(() => failures.get('access-event-publish') >= 2, 10_000, 'republishing failing while the path is silent')
  expect(heard).toEqual([])
  proxy.heal()
  await waitFor(() => heard.length > 0, 10_000, 'the kept event heard once Redis takes it')
  expect(heard[0]).toEqual(event)
  await publisher.close()
  await listener.close()
  await cutOff.close()
  await direct.close()
}, 30_000)
