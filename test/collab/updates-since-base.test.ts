import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { UpdatesSinceBase } from '../../server/collab/updates-since-base.ts'

function edits(count: number): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (let i = 0; i < count; i++) doc.getArray<number>('a').push([i])
  return updates
}

function contents(update: Uint8Array | null | undefined): number[] {
  const doc = new Y.Doc()
  if (update) Y.applyUpdate(doc, update)
  return doc.getArray<number>('a').toArray()
}

describe('UpdatesSinceBase', () => {
  const limits = { maxBytes: 1_000_000, maxUpdates: 10 }

  it('gives every update since the base as one update, or null when there are none', () => {
    const since = new UpdatesSinceBase([], limits)
    expect(since.asUpdate()).toBeNull()
    for (const update of edits(3)) since.add(update)
    expect(contents(since.asUpdate())).toEqual([0, 1, 2])
  })

  it('is unknown (undefined) when loaded without the replayed updates or past its bound', () => {
    expect(new UpdatesSinceBase(null, limits).asUpdate()).toBeUndefined()
    const since = new UpdatesSinceBase([], limits)
    for (const update of edits(11)) since.add(update)
    expect(since.asUpdate()).toBeUndefined()
  })

  it('keeps only what came after a covered mark, and everything after an uncovered one', () => {
    const [a, b, c] = edits(3) as [Uint8Array, Uint8Array, Uint8Array]
    const covered = new UpdatesSinceBase([a], limits)
    const mark = covered.mark(true)
    covered.add(b)
    covered.rebase(mark)
    expect(Y.decodeUpdate(covered.asUpdate()!).structs).toHaveLength(1)

    const uncovered = new UpdatesSinceBase([a, b], limits)
    const early = uncovered.mark(false)
    uncovered.add(c)
    uncovered.rebase(early)
    expect(contents(uncovered.asUpdate())).toEqual([0, 1, 2])
  })

  it('stays unknown when the list was dropped between mark and rebase, and recovers at the next covered mark', () => {
    const updates = edits(14)
    const since = new UpdatesSinceBase([], limits)
    const stale = since.mark(true)
    for (const update of updates.slice(0, 11)) since.add(update) // overflows: dropped
    since.rebase(stale)
    expect(since.asUpdate()).toBeUndefined()
    const next = since.mark(true)
    for (const update of updates.slice(11)) since.add(update)
    since.rebase(next)
    expect(Y.decodeUpdate(since.asUpdate()!).structs.length).toBeGreaterThan(0)
  })
})
