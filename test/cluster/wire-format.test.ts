/**
 * Wire formats: what a node sends given what the live nodes read, and the frames and envelopes of
 * every format, read back by later releases; unknown versions and junk are reported, never misread.
 */
import { describe, expect, it } from 'vitest'
import { CURRENT_GENERATION, generation, GENERATIONS, negotiate, parseVersions, readsAllOf, WIRE_KINDS } from '../../server/cluster/wire-format.ts'
import { decodeRelayFrame, encodeRelayFrame, RelayKind } from '../../server/cluster/relay-frame.ts'
import { decodeEnvelope, encodeEnvelope } from '../../server/events/event-envelope.ts'
import type { AccessEvent } from '../../server/events/bus.ts'

const NODE = 'AAAAAAAAAAAAAAAAAAAAAA' // 22 chars, like shared/ids.ts makes
const OTHER = 'BBBBBBBBBBBBBBBBBBBBBB'
const current = generation(CURRENT_GENERATION)
const legacy = generation(1)

describe('negotiation', () => {
  it('sends the newest formats when every live node reads them', () => {
    expect(negotiate(current, [current.reads, current.reads])).toEqual({ presence: 2, access: 2, record: 2, snapshot: 2 })
    expect(negotiate(current, [])).toEqual({ presence: 2, access: 2, record: 2, snapshot: 2 })
  })

  it('sends what the oldest live node reads while it is live', () => {
    expect(negotiate(current, [current.reads, legacy.reads])).toEqual({ presence: 1, access: 1, record: 2, snapshot: 2 })
  })

  it('an old generation writes only its own formats whatever the others read', () => {
    expect(negotiate(legacy, [current.reads])).toEqual({ presence: 1, access: 1, record: 2, snapshot: 2 })
  })

  it('falls back to its oldest format for a node that reads none of them (a skipped release)', () => {
    const alien = { presence: [9], access: [9], record: [9], snapshot: [9] }
    expect(negotiate(current, [alien])).toEqual({ presence: 1, access: 1, record: 2, snapshot: 2 })
  })

  it('every generation reads what every earlier one writes, and writes only what it reads', () => {
    for (const later of GENERATIONS) {
      for (const kind of WIRE_KINDS) expect(later.reads[kind]).toEqual(expect.arrayContaining([...later.writes[kind]]))
      for (const earlier of GENERATIONS.filter((g) => g.generation < later.generation)) {
        for (const kind of WIRE_KINDS) expect(later.reads[kind]).toEqual(expect.arrayContaining([...earlier.writes[kind]]))
      }
    }
  })

  it('tells old nodes from current ones', () => {
    expect(readsAllOf(legacy.reads, current)).toBe(false)
    expect(readsAllOf(current.reads, current)).toBe(true)
  })

  it('trusts nothing malformed another node published', () => {
    expect(parseVersions(current.reads)).toEqual(current.reads)
    for (const junk of [null, 1, 'x', {}, { ...current.reads, presence: [] }, { ...current.reads, access: ['2'] }, { ...current.reads, record: [-1] }, { ...current.reads, snapshot: Array(65).fill(1) }]) {
      expect(parseVersions(junk)).toBeNull()
    }
  })

  it('refuses a generation it does not know', () => {
    expect(() => generation(CURRENT_GENERATION + 1)).toThrow(RangeError)
  })
})

describe('presence relay frames', () => {
  const readsAll = { reads: (v: number) => v === 1 || v === 2, legacySenderLength: NODE.length }
  const readsLegacy = { reads: (v: number) => v === 1, legacySenderLength: NODE.length }
  const payload = new Uint8Array([1, 2, 3])

  it('format 1 is the unversioned frame the releases before the registry sent', () => {
    const bytes = encodeRelayFrame({ version: 1, kind: RelayKind.answer, sender: NODE, payload })
    expect([...bytes]).toEqual([2, ...Buffer.from(NODE), 1, 2, 3])
    expect(decodeRelayFrame(bytes, readsAll)).toEqual({ ok: true, frame: { version: 1, kind: RelayKind.answer, sender: NODE, payload } })
    expect(decodeRelayFrame(bytes, readsLegacy).ok).toBe(true)
  })

  it('a format-1 heartbeat is the bare node id', () => {
    const bytes = encodeRelayFrame({ version: 1, kind: RelayKind.heartbeat, sender: NODE, payload: new Uint8Array() })
    expect(bytes.toString()).toBe(NODE)
    expect(decodeRelayFrame(bytes, { ...readsAll, heartbeat: true })).toMatchObject({ ok: true, frame: { version: 1, kind: RelayKind.heartbeat, sender: NODE } })
  })

  it('format 2 carries its version and the sender\'s length, so any id length reads', () => {
    for (const kind of [RelayKind.update, RelayKind.query, RelayKind.answer, RelayKind.heartbeat]) {
      const bytes = encodeRelayFrame({ version: 2, kind, sender: 'short-id', payload })
      expect(decodeRelayFrame(bytes, { ...readsAll, heartbeat: kind === RelayKind.heartbeat })).toEqual({ ok: true, frame: { version: 2, kind, sender: 'short-id', payload } })
    }
  })

  it('an old node cannot read format 2, but sees no kind it knows (its first byte is none)', () => {
    const bytes = encodeRelayFrame({ version: 2, kind: RelayKind.update, sender: OTHER, payload })
    expect(bytes[0]).toBeGreaterThan(RelayKind.answer)
    expect(decodeRelayFrame(bytes, readsLegacy)).toEqual({ ok: false, reason: 'unknown_version', header: { version: 2, kind: RelayKind.update, sender: OTHER } })
  })

  it('reads who sent a frame of a newer version and what kind it is, but not its payload', () => {
    const bytes = encodeRelayFrame({ version: 7, kind: RelayKind.query, sender: OTHER, payload: new Uint8Array([0xff, 0xfe]) })
    expect(decodeRelayFrame(bytes, readsAll)).toEqual({ ok: false, reason: 'unknown_version', header: { version: 7, kind: RelayKind.query, sender: OTHER } })
  })

  it('reports junk as malformed and never throws', () => {
    const junk = [
      new Uint8Array(), new Uint8Array([9, 1, 2]), new Uint8Array([0, 1]), new Uint8Array([0xc5]), new Uint8Array([0xc5, 2, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      new Uint8Array([0xc5, 1, 0, 1, 0x41]), // version 1 in the versioned frame: no such thing
      new Uint8Array([0xc5, 2, 0, 2, 0x20, 0x21]), // a sender that is no node id
      new Uint8Array([0, ...Array(22).fill(0x20)]),
    ]
    for (const bytes of junk) expect(decodeRelayFrame(bytes, readsAll)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(decodeRelayFrame(Buffer.from('not an id!'), { ...readsAll, heartbeat: true })).toMatchObject({ ok: false, reason: 'malformed' })
  })
})

describe('access event envelopes', () => {
  const event: AccessEvent = { type: 'membership', groupId: 'g1', userId: 'u1', role: null }
  const readsAll = (v: number): boolean => v === 1 || v === 2
  const readsLegacy = (v: number): boolean => v === 1

  it('format 1 is the JSON the releases before the registry sent', () => {
    const message = encodeEnvelope({ version: 1, node: NODE, event })
    expect(JSON.parse(message)).toEqual({ node: NODE, event })
    expect(decodeEnvelope(message, readsAll)).toEqual({ ok: true, envelope: { version: 1, node: NODE, event } })
  })

  it('format 2 says its version', () => {
    const message = encodeEnvelope({ version: 2, node: NODE, event })
    expect(JSON.parse(message)).toEqual({ v: 2, node: NODE, event })
    expect(decodeEnvelope(message, readsAll)).toEqual({ ok: true, envelope: { version: 2, node: NODE, event } })
    expect(decodeEnvelope(message, readsLegacy)).toEqual({ ok: false, reason: 'unknown_version', node: NODE, version: 2 })
  })

  it('drops a newer version it cannot read, knowing who sent it', () => {
    expect(decodeEnvelope(JSON.stringify({ v: 3, node: OTHER, event: { what: 'new' } }), readsAll)).toEqual({ ok: false, reason: 'unknown_version', node: OTHER, version: 3 })
  })

  it('reports junk as malformed and never throws', () => {
    const junk = ['', '{', 'null', '[]', '"x"', '{"node":1,"event":{}}', '{"v":"2","node":"n","event":{}}', '{"v":1,"node":"n","event":{"type":"group-changed","groupId":"g"}}',
      '{"node":"n","event":{"type":"nope","groupId":"g"}}', '{"node":"n","event":{"type":"membership","groupId":"g","userId":"u","role":"admin"}}', '{"node":"n"}']
    for (const message of junk) expect(decodeEnvelope(message, readsAll)).toMatchObject({ ok: false, reason: 'malformed' })
  })
})
