import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DecodeError } from '../../server/collab/wire/bounded-reader.ts'
import { StructIndex } from '../../server/collab/content/struct-index.ts'
import { analyzeUpdate } from '../../server/collab/content/update-analysis.ts'
import { isEmptyUpdate, validateUpdateV1 } from '../../server/collab/wire/update-validator.ts'
import { amplificationUpdate } from '../helpers/frames.ts'
import { prng, randomInt } from '../helpers/random.ts'
import { sampleUpdates } from '../helpers/sample-updates.ts'

describe('validateUpdateV1', () => {
  it('accepts every update yjs produces, and the empty update as empty', () => {
    for (const update of sampleUpdates()) expect(() => validateUpdateV1(update)).not.toThrow()
    expect(isEmptyUpdate(validateUpdateV1(Y.encodeStateAsUpdate(new Y.Doc())))).toBe(true)
  })

  it('refuses the 33,000,000-struct amplification frame without allocating for it', () => {
    const before = process.memoryUsage().heapUsed
    expect(() => validateUpdateV1(amplificationUpdate())).toThrow(DecodeError)
    expect(() => analyzeUpdate(amplificationUpdate(), new StructIndex())).toThrow(DecodeError) // the content check validates as it reads
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 1024 * 1024)
  })

  it('refuses deep nesting that would overflow a recursive decoder', () => {
    const depth = 10_000
    const update = [1, 1, 1, 0, 8, 1, 1, 0, ...Array.from({ length: depth }, () => [117, 1]).flat(), 126, 0]
    // one client, one struct (ContentAny, parent root "" ), an array nested `depth` times
    expect(() => validateUpdateV1(new Uint8Array(update))).toThrow(DecodeError)
  })

  it('never lets through a mutated update that Yjs would then reject (fuzz)', () => {
    const random = prng(2024)
    const samples = sampleUpdates()
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const sample = samples[randomInt(random, samples.length)]!
      const mutated = mutate(sample, random)
      let valid = true
      try {
        validateUpdateV1(mutated)
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError)
        valid = false
      }
      if (valid) {
        accepted++
        expect(() => Y.applyUpdate(new Y.Doc(), mutated)).not.toThrow()
      }
    }
    expect(accepted).toBeGreaterThan(0)
  })
})

function mutate(update: Uint8Array, random: () => number): Uint8Array {
  const copy = new Uint8Array(update)
  switch (randomInt(random, 3)) {
    case 0: return copy.subarray(0, randomInt(random, copy.length))
    case 1: {
      const index = randomInt(random, copy.length)
      copy[index] = randomInt(random, 256)
      return copy
    }
    default: {
      const index = randomInt(random, copy.length)
      copy[index]! ^= 1 << randomInt(random, 8)
      return copy
    }
  }
}
