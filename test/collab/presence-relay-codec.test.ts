/**
 * The presence nodes relay to each other carries who holds each id; a malformed relay (another
 * node's bug, or anything published on the channel) is a DecodeError, never a crash or a loop.
 */
import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import { DecodeError } from '../../server/collab/wire/bounded-reader.ts'
import { decodePresenceAnswer, decodeRelayedPresence, encodePresenceAnswer, encodeRelayedPresence } from '../../server/collab/presence/presence-relay-codec.ts'

describe('relayed presence', () => {
  it('keeps states, removals and their owners', () => {
    const changes = [
      { clientId: 0xffffffff, clock: 2 ** 40, json: '{"cursor":{"x":1}}', userId: 'u-ann', canWrite: true },
      { clientId: 7, clock: 3, json: null, userId: 'u-vera', canWrite: false },
    ]
    const decoded = decodeRelayedPresence(encodeRelayedPresence(changes))
    expect(decoded.map((e) => ({ ...e, json: new TextDecoder().decode(e.json) }))).toEqual(changes.map((c) => ({ ...c, json: c.json ?? 'null' })))
  })

  it('refuses truncated, oversized, out-of-range and trailing input', () => {
    const good = encodeRelayedPresence([{ clientId: 1, clock: 1, json: '{}', userId: 'u', canWrite: true }])
    const bad: Uint8Array[] = [
      good.subarray(0, good.length - 1),
      new Uint8Array([...good, 0]),
      encoding.encode((e) => encoding.writeVarUint(e, 1_000_000)), // a count no frame this size could hold
      encodeRelayedPresence([{ clientId: 1, clock: 1, json: 'x'.repeat(70_000), userId: 'u', canWrite: true }]),
      encodeRelayedPresence([{ clientId: 1, clock: 1, json: '{}', userId: 'u'.repeat(300), canWrite: true }]),
      encodeRelayedPresence([{ clientId: 2 ** 33, clock: 1, json: '{}', userId: 'u', canWrite: true }]),
      withWriteFlag(2),
    ]
    expect(decodeRelayedPresence(withWriteFlag(1))[0]?.canWrite).toBe(true)
    for (const bytes of bad) expect(() => decodeRelayedPresence(bytes)).toThrow(DecodeError)
  })

  it('keeps an answer\'s states and the claims it remembers', () => {
    const states = [{ clientId: 7, clock: 3, json: '{"cursor":{"x":1}}', userId: 'u-bob', canWrite: true }]
    const claims = [{ clientId: 0xffffffff, userId: 'u-alice', canWrite: true }, { clientId: 9, userId: 'u-vera', canWrite: false }]
    const decoded = decodePresenceAnswer(encodePresenceAnswer(states, claims))
    expect(decoded.claims).toEqual(claims)
    expect(decoded.states.map((e) => ({ ...e, json: new TextDecoder().decode(e.json) }))).toEqual(states)
    expect(decodePresenceAnswer(encodePresenceAnswer([], []))).toEqual({ states: [], claims: [] })
  })

  it('refuses a truncated or malformed answer', () => {
    const good = encodePresenceAnswer([], [{ clientId: 1, userId: 'u', canWrite: true }])
    const bad: Uint8Array[] = [
      good.subarray(0, good.length - 1),
      new Uint8Array([...good, 0]),
      encodeRelayedPresence([]), // states without the claims' count
      encodePresenceAnswer([], [{ clientId: 2 ** 33, userId: 'u', canWrite: true }]),
      encodePresenceAnswer([], [{ clientId: 1, userId: 'u'.repeat(300), canWrite: true }]),
      encoding.encode((e) => [0, 1_000_000].forEach((n) => encoding.writeVarUint(e, n))), // a claim count no frame this size could hold
    ]
    for (const bytes of bad) expect(() => decodePresenceAnswer(bytes)).toThrow(DecodeError)
  })
})

/** One entry whose can-write flag is `flag` (only 0 and 1 are valid). */
function withWriteFlag(flag: number): Uint8Array {
  return encoding.encode((e) => {
    for (const n of [1, 1, 1]) encoding.writeVarUint(e, n) // count, client id, clock
    encoding.writeVarString(e, '{}')
    encoding.writeVarString(e, 'u')
    encoding.writeUint8(e, flag)
  })
}
