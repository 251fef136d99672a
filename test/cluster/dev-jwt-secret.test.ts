/**
 * Development nodes without JWT_SECRET that share one MongoDB and Redis agree on the secret (the
 * first node to start stores it in MongoDB's `settings`, the others read it), so a token one node
 * issued works on the others, over REST and on sockets. Both nodes start at once, racing to store
 * their own secret; each keeps its own DATA_DIR, so a per-node file secret would not agree.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createGroup, registerUser } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'

let cluster: TestCluster

beforeAll(async () => {
  // An empty JWT_SECRET is an unset one (the config treats empty values as unset); development
  // is where a newcomer runs two nodes without one.
  cluster = await startCluster(2, { JWT_SECRET: '', NODE_ENV: 'development' })
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

it('a token issued by one node is accepted by the other', async () => {
  const user = await registerUser(cluster.api(0), 'Dev')
  const me = await cluster.api(1)<{ user: { id: string } }>('GET', '/auth/me', { token: user.token })
  expect(me.status).toBe(200)
  expect(me.body.user.id).toBe(user.id)

  const group = await createGroup(cluster.api(1), user)
  const client = await connectSynced(cluster.nodes[0]!.collabUrl, `${group.id}/canvas`, { token: user.token })
  client.destroy()
})

it('a restarted node signs with the same secret', async () => {
  const user = await registerUser(cluster.api(1), 'Later')
  await cluster.killNode(0)
  await cluster.startNode(0)
  expect((await cluster.api(0)('GET', '/auth/me', { token: user.token })).status).toBe(200)
})
