/**
 * Before a room has heard the other nodes' presence, what its sockets send is held: the newest
 * entry per client id, a bounded amount per socket, handed back once heard (and writes waiting on
 * `ready` go on).
 */
import { describe, expect, it } from 'vitest'
import type { Connection } from '../../server/collab/wire/connection.ts'
import { PresenceHearing } from '../../server/collab/presence/presence-hearing.ts'

const socket = (name: string) => ({ name }) as unknown as Connection
const entry = (clientId: number, clock: number, json = '{}') => ({ clientId, clock, json: new TextEncoder().encode(json) })

describe('presence held until the room has heard', () => {
  it('keeps the newest entry per id, per socket in order of arrival, and wakes the waiting writes', async () => {
    const hearing = new PresenceHearing()
    const [ann, bob, gone] = [socket('ann'), socket('bob'), socket('gone')]
    let woken = false
    const ready = hearing.ready().then(() => (woken = true))
    expect(hearing.hold(ann, [entry(1, 2, '{"a":2}'), entry(1, 1)])).toBe(true)
    expect(hearing.hold(bob, [entry(2, 1)])).toBe(true)
    expect(hearing.hold(ann, [entry(1, 3, '{"a":3}'), entry(3, 1)])).toBe(true)
    expect(hearing.hold(gone, [entry(4, 1)])).toBe(true)
    hearing.forget(gone)
    await Promise.resolve()
    expect(woken).toBe(false)

    const held = hearing.settle()
    expect(held.map(({ conn, entries }) => [conn, entries.map((e) => [e.clientId, e.clock, new TextDecoder().decode(e.json)])])).toEqual([
      [ann, [[1, 3, '{"a":3}'], [3, 1, '{}']]],
      [bob, [[2, 1, '{}']]],
    ])
    await ready
    expect(hearing.isHeard).toBe(true)
    expect(hearing.settle()).toEqual([])
  })

  it('refuses to hold more than a bounded amount for one socket', () => {
    const hearing = new PresenceHearing()
    const big = 'x'.repeat(60_000)
    const mallory = socket('mallory')
    for (let id = 1; id <= 4; id++) expect(hearing.hold(mallory, [entry(id, 1, big)])).toBe(true)
    expect(hearing.hold(mallory, [entry(1, 2, big)])).toBe(true) // replaces her own: no more held
    expect(hearing.hold(mallory, [entry(5, 1, big)])).toBe(false)
  })
})
