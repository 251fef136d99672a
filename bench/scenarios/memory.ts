/**
 * Figure 5: server memory (RSS growth) per idle connection — thousands of quiet clients over
 * many rooms — and per loaded room relative to its document's encoded size (each room held by
 * one client that brought a 160 KB canvas). Both samples follow a full GC in the server: without
 * it, the same server's figure swung between 13 and 34 KiB per connection from run to run,
 * depending on when V8 had last collected.
 */
import type { TargetName } from '../lib/clients.ts'
import { startJob } from '../lib/generator.ts'
import type { ConnectJob, ConnectResult } from '../lib/jobs.ts'
import { rssBytes } from '../lib/proc.ts'
import type { Row, Scenario } from '../lib/scenario.ts'
import { collectGarbage, startTarget } from '../lib/targets.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const SETTLE_MS = 3_000

/** Server RSS growth while the job's clients are connected and quiet. */
async function heldGrowth(name: TargetName, rooms: number, build: (rooms: string[]) => Omit<ConnectJob, 'rooms' | 'target'>): Promise<number> {
  const target = await startTarget(name)
  try {
    const names = await target.rooms(rooms)
    await sleep(SETTLE_MS)
    await collectGarbage(target.pid)
    const before = rssBytes(target.pid)
    const held = startJob<ConnectResult>({ ...build(names), rooms: names, target: target.spec }, target.pid)
    await held.phase('connected')
    await sleep(SETTLE_MS)
    await collectGarbage(target.pid)
    const after = rssBytes(target.pid)
    held.stop()
    const run = await held.done
    if (run.result.failures > 0) throw new Error(`${run.result.failures} clients failed to connect`)
    return after - before
  } finally {
    await target.stop()
  }
}

export const memory: Scenario = {
  id: 'memory',
  figure: 5,
  title: 'Memory per idle connection and per loaded room',
  async run(ctx) {
    const { idleConnections, idleRooms, loadedRooms, smallDocBytes } = ctx.profile
    const perRoom = Math.round(idleConnections / idleRooms)
    const perConnection: Row = { figure: 5, metric: `server RSS per idle connection (${perRoom * idleRooms} over ${idleRooms} rooms)`, unit: 'bytes', lowerIsBetter: true, values: {} }
    const perLoadedRoom: Row = { figure: 5, metric: `server RSS per loaded room, x its ${Math.round(smallDocBytes / 1024)} KB document`, unit: 'x', lowerIsBetter: true, values: {} }
    for (const name of ctx.targets) {
      const growth = await heldGrowth(name, idleRooms, () => ({ kind: 'connect', perRoom, hold: true }))
      perConnection.values[name] = growth / (perRoom * idleRooms)
      ctx.log(`  ${name}: ${(perConnection.values[name]! / 1024).toFixed(1)} KiB per idle connection`)
      if (name === 'raw-ws') continue
      const loaded = await heldGrowth(name, loadedRooms, () => ({ kind: 'connect', perRoom: 1, hold: true, docBytes: smallDocBytes }))
      perLoadedRoom.values[name] = loaded / (loadedRooms * smallDocBytes)
      ctx.log(`  ${name}: a loaded room costs ${perLoadedRoom.values[name]!.toFixed(1)}x its document`)
    }
    return [perConnection, perLoadedRoom]
  },
}
