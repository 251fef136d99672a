/**
 * Edit records credit exactly the struct clocks an update holds: an update passed on from a
 * client holding content pending (a hole, sent as a skip) is not credited with the hole, which
 * another entry brings and is credited for (history would otherwise credit it twice).
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { editRecords } from '../../server/history/edit-records.ts'
import { structRanges, updateInfo } from '../../server/collab/sync/update-info.ts'

function threeInserts(): Uint8Array[] {
  const doc = new Y.Doc()
  doc.clientID = 7
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (const letter of 'abc') doc.getText('t').insert(doc.getText('t').length, letter)
  return updates
}

it('an update with a hole is credited with the clocks it holds, not the hole', () => {
  const [first, second, third] = threeInserts() as [Uint8Array, Uint8Array, Uint8Array]
  const holed = Y.mergeUpdates([first, third])
  const info = updateInfo(holed)
  expect(info.holes).toBe(true)
  expect(structRanges(holed, info)).toEqual([[7, 0, 1], [7, 2, 3]])
  const records = editRecords('room', [{ at: 0, writer: 'ann', update: holed, info }, { at: 0, writer: 'ann', update: second, info: updateInfo(second) }])
  expect(records.map((r) => r.created)).toEqual([[[7, 0, 3]]])
  const [alone] = editRecords('room', [{ at: 0, writer: 'ann', update: holed, info }])
  expect(alone!.created).toEqual([[7, 0, 1], [7, 2, 3]])
})

it('an update without holes keeps its ranges as they are (no second walk)', () => {
  const updates = threeInserts()
  const whole = Y.mergeUpdates(updates)
  const info = updateInfo(whole)
  expect(info.holes).toBeUndefined()
  expect(structRanges(whole, info)).toEqual([[7, 0, 3]])
})
