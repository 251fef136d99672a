/**
 * Figure 12: a document made by real-sized editing (STROKES strokes, one transaction each, a tenth
 * of them extended later: ~23,000 transactions in the full profile) reaching a fresh stock client.
 * Our server gets the document from a stock client, compacts it, is stopped and started again on
 * the same data directory, and a fresh client syncs: every sync after the restart is a cold load
 * from storage. The peers keep documents in memory only and cannot restart with them, so theirs
 * is a fresh client syncing from a server that holds the document in memory (its uploader stays
 * connected: without persistence Hocuspocus drops a document its last client left): the reference
 * the restart must not fall behind. A sync counts once the client holds the whole document. Each round is a fresh client (median over rounds); its time
 * includes the client applying the document, the same work for every server.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as Y from 'yjs'
import { openClient, type BenchClient, type TargetName } from '../lib/clients.ts'
import { editedCanvas } from '../lib/fixtures.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { median } from '../lib/stats.ts'
import { startOurs, startTarget, userOf, type RunningTarget } from '../lib/targets.ts'

const CRDT_PEERS: TargetName[] = ['y-websocket', 'hocuspocus']
/** Updates per write while uploading (a client resending after offline edits sends them merged). */
const UPLOAD_CHUNK = 500
/** Long enough for the idle compaction and the room's eviction after the uploader leaves. */
const SETTLE_MS = 3_000

function strokesFor(ctx: ScenarioContext): number {
  return ctx.profile.name === 'full' ? 21_148 : 5_000
}

/** Uploads the document; returns the uploading client, still connected (a peer without persistence drops a document its last client left). */
async function upload(target: RunningTarget, room: string, updates: Uint8Array[], bytes: number): Promise<BenchClient> {
  const writer = openClient(target.spec, room)
  await writer.synced
  for (let i = 0; i < updates.length; i += UPLOAD_CHUNK) Y.applyUpdate(writer.doc!, Y.mergeUpdates(updates.slice(i, i + UPLOAD_CHUNK)))
  // A second client sees all of it: the server holds (and for ours, has logged) the document.
  const check = openClient(target.spec, room)
  await check.synced
  for (let waited = 0; Y.encodeStateAsUpdate(check.doc!).length < bytes; waited += 100) {
    if (waited > 120_000) throw new Error('the uploaded document never reached a second client')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  check.destroy()
  return writer
}

/** Waits until the client holds the whole document (a `synced` event alone may come before it has). */
async function holdsAll(client: BenchClient, bytes: number): Promise<void> {
  await client.synced
  for (let waited = 0; Y.encodeStateAsUpdate(client.doc!).length < bytes; waited += 5) {
    if (waited > 120_000) throw new Error('a fresh client never got the whole document')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function freshSyncs(ctx: ScenarioContext, target: RunningTarget, room: string, bytes: number): Promise<number> {
  const times: number[] = []
  for (let round = 0; round < ctx.profile.rounds; round++) {
    const started = performance.now()
    const client = openClient(target.spec, room)
    await holdsAll(client, bytes)
    times.push(performance.now() - started)
    client.destroy()
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS)) // ours evicts the room: the next sync loads it cold again
  }
  return median(times)
}

async function ours(ctx: ScenarioContext): Promise<number> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-restart-'))
  try {
    const first = await startOurs({ dataDir, env: { COMPACT_IDLE_MS: '500', ROOM_GRACE_MS: '500' } })
    const [room] = await first.rooms(1)
    const made = editedCanvas(strokesFor(ctx), userOf(first.spec))
    const bytes = Y.encodeStateAsUpdate(made.doc).length
    ctx.log(`  ours: ${made.updates.length} transactions, ${bytes} bytes`)
    ;(await upload(first, room!, made.updates, bytes)).destroy()
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    await first.stop()
    const restarted = await startOurs({ dataDir, env: { ROOM_GRACE_MS: '500' } })
    try {
      return await freshSyncs(ctx, restarted, room!, bytes)
    } finally {
      await restarted.stop()
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

async function peer(ctx: ScenarioContext, name: TargetName): Promise<number> {
  const target = await startTarget(name)
  try {
    const [room] = await target.rooms(1)
    const made = editedCanvas(strokesFor(ctx), userOf(target.spec))
    const bytes = Y.encodeStateAsUpdate(made.doc).length
    const uploader = await upload(target, room!, made.updates, bytes)
    try {
      return await freshSyncs(ctx, target, room!, bytes)
    } finally {
      uploader.destroy()
    }
  } finally {
    await target.stop()
  }
}

export const restartSync: Scenario = {
  id: 'restart-sync',
  figure: 12,
  title: 'A really edited document reaching a fresh client (ours after a restart)',
  async run(ctx) {
    const values: Partial<Record<string, number>> = {}
    if (ctx.targets.includes('ours')) values.ours = await ours(ctx)
    for (const name of CRDT_PEERS) if (ctx.targets.includes(name)) values[name] = await peer(ctx, name)
    for (const [name, ms] of Object.entries(values)) ctx.log(`  ${name}: ${ms?.toFixed(0)} ms`)
    const row: Row = { figure: 12, metric: `fresh client sync of a document of ${strokesFor(ctx)} strokes made in ~${Math.round(strokesFor(ctx) * 1.1)} transactions (ours: after a restart, from storage; peers: held in memory)`, unit: 'ms', lowerIsBetter: true, values }
    return [row]
  },
}
