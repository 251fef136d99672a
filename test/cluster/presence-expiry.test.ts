/** A dead node's clients vanish from everyone's presence within seconds, not y-protocols' 30 s. */
import { it } from 'vitest'
import { connectSynced } from '../helpers/clients.ts'
import { useCluster } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useCluster(2)

it('drops the presence of clients of a node killed with SIGKILL', async () => {
  const doomed = await connectSynced(ctx.cluster.nodes[0]!.collabUrl, ctx.group.rooms.canvas, { token: ctx.owner.token })
  const watcher = await connectSynced(ctx.cluster.nodes[1]!.collabUrl, ctx.group.rooms.canvas, { token: ctx.owner.token })
  ctx.clients.push(doomed, watcher)
  doomed.provider.awareness.setLocalStateField('cursor', { x: 1, y: 2 })
  await waitFor(() => watcher.provider.awareness.getStates().has(doomed.doc.clientID), 10_000, 'presence crossed')

  doomed.provider.shouldConnect = false // its node is gone; it does not come back elsewhere
  await ctx.cluster.killNode(0, 'SIGKILL')
  // y-protocols alone would keep the state for 30 s without renewal; the node heartbeat is faster.
  await waitFor(() => !watcher.provider.awareness.getStates().has(doomed.doc.clientID), 20_000, 'presence dropped')
}, 60_000)
