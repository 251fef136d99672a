import { describe, expect, it } from 'vitest'
import { TurnSlicer } from '../../server/collab/turn-slicer.ts'

describe('TurnSlicer', () => {
  it('is due once its slice has used its time, and a yield starts a new slice', async () => {
    let now = 100
    const slicer = new TurnSlicer(5, () => now)
    expect(slicer.due()).toBe(false)
    now = 104.9
    expect(slicer.due()).toBe(false)
    now = 105
    expect(slicer.due()).toBe(true)
    await slicer.yield()
    expect(slicer.due()).toBe(false)
    now = 110
    expect(slicer.due()).toBe(true)
  })

  it('gives the event loop its turn: a timer that fell due during a slice has run after at most two yields', async () => {
    const slicer = new TurnSlicer(0)
    let ranTimer = false
    setTimeout(() => { ranTimer = true }, 0)
    const until = performance.now() + 3 // a timer of 0 ms is due after 1 ms
    while (performance.now() < until) { /* hold the loop as a long fold would */ }
    expect(slicer.due()).toBe(true)
    // From the poll phase an immediate runs before the next timers phase; from anywhere, two do not.
    await slicer.yield()
    await slicer.yield()
    expect(ranTimer).toBe(true)
  })
})
