import { expect, it } from 'vitest'
import { SweptMap } from '../../server/history/swept-map.ts'

it('forgets expired entries once it has grown past twice what it kept, never the live ones', () => {
  const map = new SweptMap<{ until: number }>((entry, now) => now >= entry.until)
  for (let i = 0; i < 1023; i++) map.set(`old${i}`, { until: 10 }, 0)
  map.set('live', { until: 1_000 }, 5)
  expect(map.size).toBe(1024) // the 1,024th addition sweeps, but nothing had expired at 5
  map.set('next', { until: 1_000 }, 20)
  expect(map.size).toBe(1025) // the next sweep waits for 2,048 entries
  for (let i = 0; i < 1022; i++) map.set(`new${i}`, { until: 1_000 }, 20)
  expect(map.size).toBe(2047)
  map.set('last', { until: 1_000 }, 20)
  expect(map.size).toBe(1025) // at 2,048: the 1,023 expired went, the 1,025 live stayed
  expect(map.get('live')).toEqual({ until: 1_000 })
  expect(map.get('old0')).toBeUndefined()
})
