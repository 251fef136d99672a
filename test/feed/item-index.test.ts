/**
 * The item index finds the point run holding a clock among the runs a batch added by binary
 * search (a scan per lookup made placing a 10 MiB canvas quadratic). Checked against a scan over
 * generated batches: runs put in any order, some dropped, some put again, every clock asked.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { ItemIndex } from '../../server/feed/item-index.ts'
import type { FeedItem, FeedStore } from '../../server/storage/feed-types.ts'

/** Nothing stored yet: every answer comes from what the batch added. */
const EMPTY_STORE = { itemsIn: async () => [], itemAt: async () => null } as unknown as FeedStore

function run(client: number, start: number, end: number): FeedItem {
  return { kind: 'pointrange', client, start, end, id: `s${client}-${start}`, author: 'ann' }
}

it('finds the run holding each clock as a scan of the added runs would', async () => {
  await fc.assert(fc.asyncProperty(
    fc.uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 40 }),
    fc.array(fc.nat(), { maxLength: 40 }),
    fc.array(fc.boolean(), { maxLength: 40 }),
    async (cuts, order, dropped) => {
      const bounds = [0, ...cuts.sort((a, b) => a - b), 301]
      const runs = bounds.slice(1).map((end, i) => run(i % 2, bounds[i]!, end))
      const index = new ItemIndex('room', EMPTY_STORE)
      const live = new Map<string, FeedItem>()
      const shuffled = runs.map((r, i) => ({ r, key: order[i] ?? i })).sort((a, b) => a.key - b.key).map((x) => x.r)
      for (const [i, r] of shuffled.entries()) {
        index.put(r)
        live.set(`${r.client}:${r.start}`, r)
        if (dropped[i]) {
          index.drop(r)
          live.delete(`${r.client}:${r.start}`)
          if (i % 3 === 0) { // put again after a drop
            index.put(r)
            live.set(`${r.client}:${r.start}`, r)
          }
        }
      }
      for (const client of [0, 1]) {
        for (let clock = 0; clock <= 301; clock++) {
          const expected = [...live.values()].find((r) => r.client === client && r.start <= clock && clock < r.end) ?? null
          expect(await index.at('pointrange', client, clock)).toEqual(expected)
        }
      }
    },
  ), { numRuns: 200 })
})

it('a run extended in place keeps being found over its new length', async () => {
  const index = new ItemIndex('room', EMPTY_STORE)
  await index.extend(run(7, 10, 14))
  await index.extend({ ...run(7, 14, 20), id: 's7-10' })
  expect(await index.at('pointrange', 7, 19)).toMatchObject({ start: 10, end: 20 })
  expect(await index.at('pointrange', 7, 20)).toBeNull()
  expect(await index.at('pointrange', 7, 9)).toBeNull()
})
