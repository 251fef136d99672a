/**
 * What goes to the worker threads is packed: posting a view clones its whole buffer, and a room
 * loaded from storage holds its pieces as views into the one buffer its snapshot was read into,
 * so every message carrying a piece of a 10 MiB room copied 10 MiB. Each message here carries
 * buffers holding exactly its bytes, moved (in the transfer list), and a big document's pieces
 * go to the doc worker ahead of the request, in messages of at most about 1 MiB, one per turn.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { PIECE_BYTES } from '../../server/collab/compaction/folder.ts'
import { decodeSnapshotParts, encodeSnapshot } from '../../server/collab/compaction/snapshot-codec.ts'
import type { GatePart } from '../../server/collab/content/content-gate.ts'
import { splitUpdate } from '../../server/collab/sync/split-update.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { DocWorker } from '../../server/collab/workers/doc-worker-client.ts'
import { DocWork, type DocRequest } from '../../server/collab/workers/doc-worker.ts'
import { inGroups, packArrays, packUpdates } from '../../server/collab/workers/packing.ts'
import { WorkerChannel, type WorkerLike } from '../../server/collab/workers/worker-channel.ts'
import { addStroke } from '../../shared/canvas.ts'
import { strokeCanvas } from '../helpers/stroke-canvas.ts'

const MiB = 1024 * 1024
const RULES = { offlineWindowMs: 7 * 24 * 3600_000, maxFutureMs: 120_000 }
const bytesOf = (arrays: readonly Uint8Array[]): number => arrays.reduce((sum, a) => sum + a.length, 0)

/** The doc worker's work in this thread, each request answered on a later turn and recorded with its transfer list. */
class RecordingWorker implements WorkerLike<DocRequest> {
  work = new DocWork()
  readonly sent: Array<{ request: DocRequest; transfer: ArrayBuffer[] }> = []
  failOn: ((request: DocRequest) => boolean) | null = null

  async call<T>(request: DocRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    this.sent.push({ request, transfer })
    await new Promise((resolve) => setImmediate(resolve))
    if (this.failOn?.(request)) throw new Error('worker exited')
    return this.work.handle(request).value as T
  }

  onRestart(): () => void {
    return () => {}
  }

  async close(): Promise<void> {}
}

/** A room's pieces as a load from storage holds them: views into the one buffer read. */
function loadedPieces(doc: Y.Doc): Uint8Array[] {
  const pieces = splitUpdate(Y.encodeStateAsUpdate(doc), PIECE_BYTES)
  const stored = encodeSnapshot(pieces, pieces.length, { infos: pieces.map(updateInfo), stateVector: Y.encodeStateVector(doc), bindings: new Map() })
  const loaded = decodeSnapshotParts(Uint8Array.from(stored)).pieces
  expect(loaded.every((piece) => piece.buffer === loaded[0]!.buffer)).toBe(true)
  return loaded
}

/** Every byte array in `value`, found by walking it. */
function arraysIn(value: unknown, found: Uint8Array[] = []): Uint8Array[] {
  if (value instanceof Uint8Array) found.push(value)
  else if (Array.isArray(value)) for (const item of value) arraysIn(item, found)
  else if (value && typeof value === 'object') for (const item of Object.values(value)) arraysIn(item, found)
  return found
}

/** Each array of the message views a buffer the message moves, and those buffers hold its bytes alone. */
function expectPacked({ request, transfer }: { request: DocRequest; transfer: ArrayBuffer[] }): void {
  const arrays = arraysIn(request).filter((a) => a.length > 0 && !(request.type === 'diff' && a === request.stateVector))
  const buffers = new Set(arrays.map((a) => a.buffer))
  for (const buffer of buffers) expect(transfer).toContain(buffer)
  expect([...buffers].reduce((sum, b) => sum + b.byteLength, 0)).toBe(bytesOf(arrays))
}

describe('packing', () => {
  it('copies views into one buffer of exactly their bytes, in order', () => {
    const big = new Uint8Array(4 * MiB).map((_, i) => i % 251)
    const views = [big.subarray(10, 20), big.subarray(0, 0), big.subarray(3 * MiB, 3 * MiB + 5)]
    const { value, transfer } = packArrays(views)
    expect(transfer).toHaveLength(1)
    expect(transfer[0]!.byteLength).toBe(15)
    expect(value.map((v) => [...v])).toEqual(views.map((v) => [...v]))
    expect(value.every((v) => v.buffer === transfer[0])).toBe(true)
    expect(packArrays([]).transfer).toEqual([])
    const updates = packUpdates([{ writer: 'ann', update: views[0]! }, { writer: 'bob', update: views[2]! }])
    expect(updates.value.map((u) => u.writer)).toEqual(['ann', 'bob'])
    expect(updates.transfer[0]!.byteLength).toBe(15)
  })

  it('groups consecutive arrays up to a size, a bigger one alone', () => {
    const sized = (n: number): Uint8Array => new Uint8Array(n)
    expect(inGroups([sized(4), sized(4), sized(9), sized(1), sized(3)], 8).map((g) => g.map((a) => a.length))).toEqual([[4, 4], [9], [1, 3]])
    expect(inGroups([], 8)).toEqual([])
  })

  it('a posted view costs its whole buffer, a packed one its bytes (why packing exists)', async () => {
    const { port1, port2 } = new MessageChannel()
    const big = new Uint8Array(2 * MiB)
    const arrived: Uint8Array[][] = []
    const both = new Promise<void>((resolve) => {
      port2.onmessage = (event) => {
        arrived.push(event.data as Uint8Array[])
        if (arrived.length === 2) resolve()
      }
    })
    port1.postMessage([big.subarray(0, 100)])
    const packed = packArrays([big.subarray(0, 100)])
    port1.postMessage(packed.value, packed.transfer)
    await both
    expect(arrived[0]![0]!.buffer.byteLength).toBe(2 * MiB)
    expect(arrived[1]![0]!.buffer.byteLength).toBe(100)
    port1.close()
  })
})

describe('the doc worker\'s inputs', () => {
  const doc = strokeCanvas(9_000)
  const pieces = loadedPieces(doc)

  it('stages a big document in packed messages of at most about 1 MiB, and builds the index a whole load would', async () => {
    expect(bytesOf(pieces)).toBeGreaterThan(3 * MiB)
    const worker = new RecordingWorker()
    const extra = new Y.Doc()
    Y.applyUpdate(extra, Y.encodeStateAsUpdate(doc))
    const updates: Uint8Array[] = []
    extra.on('update', (update: Uint8Array) => updates.push(update))
    addStroke(extra, { author: 'bob', color: '#ff0000', width: 3, tool: 'pen', points: [[1, 2], [3, 4]] })
    const trusted = updates.map((update) => ({ writer: 'bob', update }))

    const parts: GatePart[] = []
    for await (const part of new DocWorker(worker).buildIndex('canvas', pieces, new Map([[7, 'ann']]), trusted, RULES)) parts.push(part)

    const stages = worker.sent.filter((s) => s.request.type === 'stage')
    expect(stages.length).toBeGreaterThanOrEqual(3)
    for (const stage of stages) expect(bytesOf((stage.request as DocRequest & { type: 'stage' }).pieces)).toBeLessThanOrEqual(MiB)
    const index = worker.sent.find((s) => s.request.type === 'index')!
    const request = index.request as DocRequest & { type: 'index' }
    expect(request.stage).not.toBeNull()
    expect([...stages.flatMap((s) => (s.request as DocRequest & { type: 'stage' }).pieces), ...request.pieces].map((p) => Buffer.from(p))).toEqual(pieces.map((p) => Buffer.from(p)))
    for (const message of [...stages, index]) expectPacked(message)

    const whole = new DocWork()
    const { handle, parts: count } = whole.handle({ type: 'index', kind: 'canvas', stage: null, pieces, bindings: [[7, 'ann']], updates: trusted, rules: RULES }).value as { handle: number; parts: number }
    const expected = Array.from({ length: count }, () => whole.handle({ type: 'index-part', handle }).value)
    expect(parts).toEqual(expected)
  })

  it('packs diffs and view loads, and a view loaded in stages reads the whole document', async () => {
    const worker = new RecordingWorker()
    const client = new DocWorker(worker)
    const answer = await client.view('room-1', pieces, [], { kind: 'strokes' })
    expect((answer.result as unknown[]).length).toBe(9_000)
    expect(worker.sent.filter((s) => s.request.type === 'stage').length).toBeGreaterThanOrEqual(3)
    const lacking = new Y.Doc()
    Y.applyUpdate(lacking, pieces[0]!)
    const diffs = await client.diff(pieces.slice(0, 2), Y.encodeStateVector(lacking))
    expect(diffs).toHaveLength(2)
    for (const message of worker.sent) expectPacked(message)
  })

  it('drops what it staged when a stage fails, and a stage a restarted worker lost is an error, not a part of a document', async () => {
    const worker = new RecordingWorker()
    let stages = 0
    worker.failOn = (request) => request.type === 'stage' && ++stages === 2
    await expect(async () => {
      for await (const part of new DocWorker(worker).buildIndex('canvas', pieces, new Map(), [], RULES)) void part
    }).rejects.toThrow('worker exited')
    await new Promise((resolve) => setImmediate(resolve))
    expect(worker.sent.at(-1)!.request).toEqual({ type: 'stage-drop', stage: expect.any(Number) })

    const lost = new RecordingWorker()
    lost.failOn = null
    let calls = 0
    const restarted = new DocWork()
    const original = lost.work
    lost.work = { handle: (request: DocRequest) => (++calls > 1 ? restarted : original).handle(request) } as DocWork
    await expect(async () => {
      for await (const part of new DocWorker(lost).buildIndex('canvas', pieces, new Map(), [], RULES)) void part
    }).rejects.toThrow(/no stage/)
  })

  it('a real doc worker thread builds the same index from staged, moved pieces', async () => {
    const channel = new WorkerChannel<DocRequest>(new URL('../../server/collab/workers/doc-worker.ts', import.meta.url))
    try {
      const parts: GatePart[] = []
      for await (const part of new DocWorker(channel).buildIndex('canvas', pieces, new Map(), [], RULES)) parts.push(part)
      const inline: GatePart[] = []
      for await (const part of new DocWorker(new RecordingWorker()).buildIndex('canvas', pieces, new Map(), [], RULES)) inline.push(part)
      expect(parts).toEqual(inline)
      expect(pieces[0]!.buffer.byteLength).toBeGreaterThan(3 * MiB) // the room's own bytes stay (copies were moved, not these)
    } finally {
      await channel.close()
    }
  })
})
