/**
 * An append whose outcome is unknown: the log may hold it (its answer was lost, or a Redis
 * failover dropped it after another node had read and kept it) or not. The node writes its
 * sockets' updates again itself rather than leave them to their writers, who may be gone before
 * they resend: left to them, the update would be on the nodes that read it and nowhere else.
 *
 * In-process server on the embedded log; the fault (an append that fails once its writer left)
 * is made by wrapping the log's append: nothing else in-process makes an append fail on cue.
 * The failover itself (two nodes, a dropped entry) is the simulation's `written-then-dropped`.
 */
import { expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import type { UpdateLog } from '../../server/log/types.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useFreshServer(() => ({ roomGraceMs: 150 }))

/**
 * The next append to `room` waits for `release`, then fails without its answer (it never
 * landed); so does the one after it (the room's first attempt to write it again), at once.
 */
function failNextAppends(log: UpdateLog, room: string): { release(): void; failed: Promise<void> } {
  const append = log.append.bind(log)
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let failed!: () => void
  const done = new Promise<void>((resolve) => { failed = resolve })
  let failing = 2
  log.append = async (name, updates, options) => {
    if (failing === 0 || name !== room) return append(name, updates, options)
    if (failing-- === 2) await released
    else failed()
    throw new Error('connection lost before the answer')
  }
  return { release, failed: done }
}

it('writes again a stroke whose append failed after its writer left, and stays in memory until it has', async () => {
  const { app, collabUrl } = ctx.server
  const fault = failNextAppends(app.updateLog, ctx.fx.canvas)
  const writer = await connectSynced(collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
  addStroke(writer.doc, { author: ctx.fx.owner.id, color: '#000000', width: 1, tool: 'pen', id: 'orphan', points: [[1, 1]] })
  const room = app.collab.registry.get(ctx.fx.canvas)!
  try {
    await waitFor(() => room.writesInFlight > 0, 5_000, 'the stroke on its way to the log')
    writer.destroy() // gone before it could be asked to resend
    // Its grace period over, the room leaves memory: it drains, and the append fails meanwhile.
    await waitFor(() => app.collab.registry.get(ctx.fx.canvas) === undefined, 5_000, 'the room leaving memory')
  } finally {
    fault.release()
  }
  await fault.failed
  // Nothing of it was kept: the room writes it again at once, which fails too, and then after a
  // pause; it must not leave memory before. (Had the room read it back first, it would have
  // kept it and written it again: room-core.test.ts.)
  await waitFor(() => app.collab.registry.get(ctx.fx.canvas) === room, 5_000, 'the room kept in memory while it owes the log the stroke')
  await waitFor(() => app.collab.registry.size === 0 && !room.holdsUnlogged, 10_000, 'the room evicted once it owes the log nothing')
  const reader = await connectSynced(collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
  await waitFor(() => readStrokes(reader.doc).length > 0, 5_000, 'the stroke on a fresh client')
  expect(readStrokes(reader.doc).map((stroke) => stroke.id)).toEqual(['orphan'])
  reader.destroy()
})
