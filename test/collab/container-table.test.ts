/**
 * The content index's container table (content/container-table.ts) against a plain model: a map
 * from (parent, key) to the number each container got in order. An item with many keys takes the
 * table's fallback past its chain; both paths must find and give back exactly what was added.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { ContainerTable, type Container } from '../../server/collab/content/container-table.ts'

const parent = fc.oneof(
  fc.constantFrom('strokes', 'messages', 'meta'),
  fc.record({ client: fc.nat({ max: 5 }), clock: fc.oneof(fc.nat({ max: 40 }), fc.constantFrom(2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3)) }),
)
// Many keys on few items: an item's chain fills up, and its later containers are found by name.
const key = fc.option(fc.oneof(fc.constantFrom('points', 'color', 'width', '', 'a\u0000b', '__proto__'), fc.nat({ max: 60 }).map((n) => `k${n}`)), { nil: null })

function nameOf(p: string | { client: number; clock: number }, k: string | null): string {
  return JSON.stringify([p, k])
}

it('finds every container it was given, by parent and key, and gives each back as added', () => {
  fc.assert(fc.property(fc.array(fc.tuple(parent, key), { maxLength: 400 }), fc.array(fc.tuple(parent, key), { maxLength: 50 }), (adds, probes) => {
    const table = new ContainerTable()
    const model = new Map<string, number>()
    const added: Container[] = []
    for (const [p, k] of adds) {
      if (model.has(nameOf(p, k))) {
        expect(table.find(p, k)).toBe(model.get(nameOf(p, k)))
        continue
      }
      expect(table.find(p, k)).toBeUndefined()
      const container: Container = typeof p === 'string' ? { root: p, owner: null, key: k } : { root: null, owner: { ...p }, key: k }
      const id = table.add(container)
      expect(id).toBe(added.length)
      model.set(nameOf(p, k), id)
      added.push(container)
    }
    expect(table.size).toBe(added.length)
    added.forEach((container, id) => expect(table.get(id)).toEqual(container))
    for (const [p, k] of probes) expect(table.find(p, k)).toBe(model.get(nameOf(p, k)))
    expect(() => table.get(added.length)).toThrow()
  }), { numRuns: 300 })
})

it('finds every container of an item with many keys (past its chain, by name)', () => {
  const table = new ContainerTable()
  const owner = { client: 7, clock: 3 }
  const ids = Array.from({ length: 100 }, (_, i) => table.add({ root: null, owner, key: `k${i}` }))
  ids.forEach((id, i) => expect(table.find({ client: 7, clock: 3 }, `k${i}`)).toBe(id))
  expect(table.find(owner, 'k100')).toBeUndefined()
  expect(table.find({ client: 7, clock: 4 }, 'k1')).toBeUndefined()
})

it('keeps a reserved container that is never looked up', () => {
  const table = new ContainerTable()
  expect(table.add({ root: null, owner: null, key: null })).toBe(0)
  expect(table.get(0)).toEqual({ root: null, owner: null, key: null })
  expect(table.find('strokes', null)).toBeUndefined()
})
