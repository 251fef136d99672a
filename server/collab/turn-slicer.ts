/**
 * Long loops on the main thread (a cold fold cutting thousands of logged updates to what the
 * document lacked, a load reading a big room) give the event loop back every SLICE_MS, so
 * sockets, timers and other rooms never wait behind them for longer than that.
 *
 *   const slicer = new TurnSlicer()
 *   for (const item of items) { work(item); if (slicer.due()) await slicer.yield() }
 */
import { setImmediate as nextTurn } from 'node:timers/promises'

export const SLICE_MS = 5

/** Where a long loop may give the event loop back (a simulation decides it by its seed). */
export interface Slicer {
  due(): boolean
  yield(): Promise<void>
}

export class TurnSlicer implements Slicer {
  private readonly sliceMs: number
  private readonly now: () => number
  private sliceStart: number

  constructor(sliceMs = SLICE_MS, now: () => number = () => performance.now()) {
    this.sliceMs = sliceMs
    this.now = now
    this.sliceStart = now()
  }

  /** Whether this slice has used its time: the caller should `yield` before going on. */
  due(): boolean {
    return this.now() - this.sliceStart >= this.sliceMs
  }

  /**
   * Lets the event loop run, then starts a new slice. An immediate queued from the poll phase runs
   * in the same loop iteration, so I/O and timers wait at most two slices, never a whole loop.
   */
  async yield(): Promise<void> {
    await nextTurn()
    this.sliceStart = this.now()
  }
}
