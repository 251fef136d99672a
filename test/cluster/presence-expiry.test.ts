/** A dead node's clients vanish from everyone's presence within seconds, not y-protocols' 30 s. */
import { afterAll, beforeAll, it } from 'vitest'
import { createGroup, registerUser, type TestUser } from '../helpers/api.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/wait.ts'
import type { GroupResponse } from '../../shared/api.ts'

let cluster: TestCluster
let owner: TestUser
let group: GroupResponse
const clients: Client[] = []

beforeAll(async () => {
  cluster = await startCluster(2)
  owner = await registerUser(cluster.api(1), 'Owner')
  group = await createGroup(cluster.api(1), owner)
}, 60_000)

afterAll(async () => {
  for (const client of clients) client.destroy()
  await cluster.close()
})

it('drops the presence of clients of a node killed with SIGKILL', async () => {
  const doomed = await connectSynced(cluster.nodes[0]!.collabUrl, group.rooms.canvas, { token: owner.token })
  const watcher = await connectSynced(cluster.nodes[1]!.collabUrl, group.rooms.canvas, { token: owner.token })
  clients.push(doomed, watcher)
  doomed.provider.awareness.setLocalStateField('cursor', { x: 1, y: 2 })
  await waitFor(() => watcher.provider.awareness.getStates().has(doomed.doc.clientID), 10_000, 'presence crossed')

  doomed.provider.shouldConnect = false // its node is gone; it does not come back elsewhere
  await cluster.killNode(0, 'SIGKILL')
  // y-protocols alone would keep the state for 30 s without renewal; the node heartbeat is faster.
  await waitFor(() => !watcher.provider.awareness.getStates().has(doomed.doc.clientID), 20_000, 'presence dropped')
}, 60_000)
