/**
 * What idle sockets cost in our server's JS heap, exactly (RSS is too noisy for small changes):
 * heap snapshots of the main thread before and after SOCKETS idle sockets over ROOMS rooms
 * (defaults 1,000 over 200, figure 5's quick crowd), each after a full collection; prints the
 * total difference and the kinds of objects that grew most.
 *
 *   node bench/probes/idle-heap.ts
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startJob } from '../lib/generator.ts'
import type { ConnectResult } from '../lib/jobs.ts'
import { collectGarbage, startOurs } from '../lib/targets.ts'

const ROOMS = Number(process.env.ROOMS ?? 200)
const SOCKETS = Number(process.env.SOCKETS ?? 1_000)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }
  nodes: number[]
  strings: string[]
}

/** Self size by kind of object ("type:constructor"), summed. */
function sizesByKind(heap: HeapSnapshot): Map<string, number> {
  const fields = heap.snapshot.meta.node_fields
  const types = heap.snapshot.meta.node_types[0]
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number]
  const sizes = new Map<string, number>()
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt]!]!
    const named = type === 'object' || type === 'closure' || type === 'native'
    const kind = `${type}${named ? `:${heap.strings[heap.nodes[i + nameAt]!]!.slice(0, 50)}` : ''}`
    sizes.set(kind, (sizes.get(kind) ?? 0) + heap.nodes[i + sizeAt]!)
  }
  return sizes
}

async function snapshot(pid: number, dir: string): Promise<Map<string, number>> {
  const count = (await readdir(dir)).length
  process.kill(pid, 'SIGTTIN')
  while ((await readdir(dir)).length === count) await sleep(500)
  const file = path.join(dir, (await readdir(dir)).sort().at(-1)!)
  // V8 streams the snapshot into the file: read it once it parses whole.
  for (;;) {
    await sleep(1_000)
    try {
      return sizesByKind(JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot)
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error
    }
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'idle-heap-'))
process.env.BENCH_OURS_NODE_ARGS = `--heapsnapshot-signal=SIGTTIN --diagnostic-dir=${dir}`
const target = await startOurs()
try {
  const rooms = await target.rooms(ROOMS)
  await sleep(3_000)
  await collectGarbage(target.pid)
  const before = await snapshot(target.pid, dir)
  const held = startJob<ConnectResult>({ kind: 'connect', perRoom: Math.round(SOCKETS / ROOMS), hold: true, rooms, target: target.spec }, target.pid)
  await held.phase('connected')
  await sleep(3_000)
  await collectGarbage(target.pid)
  const after = await snapshot(target.pid, dir)
  held.stop()
  await held.done
  const grown = [...after].map(([kind, bytes]) => [kind, bytes - (before.get(kind) ?? 0)] as const).sort((a, b) => b[1] - a[1])
  const total = grown.reduce((sum, [, bytes]) => sum + bytes, 0)
  console.log(`JS heap +${(total / 1024).toFixed(0)} KiB for ${SOCKETS} sockets over ${ROOMS} rooms (${(total / SOCKETS / 1024).toFixed(2)} KiB per socket, its share of the rooms and compiled code included)`)
  for (const [kind, bytes] of grown.slice(0, 15)) console.log(`  +${(bytes / 1024).toFixed(1)} KiB ${kind}`)
} finally {
  await target.stop()
  await rm(dir, { recursive: true, force: true })
}
