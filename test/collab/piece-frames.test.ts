/**
 * A load frames a big room's pieces about 1 MiB per event-loop turn (10 MiB in one turn stalled
 * the loop ~100 ms, figure 4), and the room then sends those frames as they are: no second copy.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocBytes } from '../../server/collab/room/doc-bytes.ts'
import { FRAME_TURN_BYTES, framed, framedInTurns } from '../../server/collab/room/piece-frames.ts'
import { updateFrame } from '../../server/collab/wire/outbound.ts'
import { LOG_START } from '../../server/log/log-id.ts'
import { splitUpdate } from '../../server/collab/sync/split-update.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { strokeCanvas } from '../helpers/stroke-canvas.ts'

/** Whether `start()` gave the event loop back before it settled (an immediate queued before it ran). */
async function yieldsTurn<T>(start: () => Promise<T>): Promise<{ value: T; yielded: boolean }> {
  let immediateRan = false
  setImmediate(() => { immediateRan = true })
  const value = await start()
  return { value, yielded: immediateRan }
}

it('frames a big room\'s pieces over several turns, each a view into its own frame, and the room sends those frames', async () => {
  const doc = strokeCanvas(7_000)
  const pieces = splitUpdate(Y.encodeStateAsUpdate(doc), 256 * 1024)
  const bytes = pieces.reduce((sum, p) => sum + p.length, 0)
  expect(bytes).toBeGreaterThan(3 * FRAME_TURN_BYTES)

  const { value: views, yielded } = await yieldsTurn(() => framedInTurns(pieces))
  expect(yielded).toBe(true)
  views.forEach((view, i) => {
    expect(Buffer.from(view).equals(Buffer.from(pieces[i]!))).toBe(true)
    const { frame, update } = framed(view)
    expect(update).toBe(view)
    expect(frame.buffer).toBe(view.buffer)
    expect(Buffer.from(frame).equals(Buffer.from(updateFrame(pieces[i]!)))).toBe(true)
  })

  const room = new DocBytes({ pieces: views, infos: views.map(updateInfo), full: views.length, watermark: LOG_START, stateVector: Y.decodeStateVector(Y.encodeStateVector(doc)), bindings: new Map() })
  const { frames } = room.freshParts()
  views.forEach((view, i) => expect(frames[i]!.buffer).toBe(view.buffer))
  const fresh = new Y.Doc()
  views.forEach((view, i) => Y.applyUpdate(fresh, frames[i]!.subarray(frames[i]!.length - view.length)))
  expect(fresh.getArray('strokes').length).toBe(7_000)
})

it('leaves small rooms to be framed at once, and frames an unknown piece as a copy', async () => {
  const pieces = [Y.encodeStateAsUpdate(strokeCanvas(10))]
  const { value, yielded } = await yieldsTurn(() => framedInTurns(pieces))
  expect(value).toBe(pieces)
  expect(yielded).toBe(false)
  const { frame, update } = framed(pieces[0]!)
  expect(Buffer.from(frame).equals(Buffer.from(updateFrame(pieces[0]!)))).toBe(true)
  expect(update.buffer).toBe(frame.buffer)
  expect(update.buffer).not.toBe(pieces[0]!.buffer)
})
