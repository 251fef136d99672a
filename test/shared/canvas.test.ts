import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, findStroke, readStrokes, strokesOf } from '../../shared/canvas.ts'

const pen = { author: 'u1', color: '#112233', width: 4, tool: 'pen' as const }

describe('canvas schema', () => {
  it('adds strokes in paint order and grows their points', () => {
    const doc = new Y.Doc()
    const first = addStroke(doc, { ...pen, id: 's1', points: [[0, 0]] })
    addStroke(doc, { ...pen, id: 's2', color: '#445566' })
    expect(appendPoints(first, [[1, 1], [2, 4]])).toBe(true)
    expect(readStrokes(doc)).toEqual([
      { id: 's1', author: 'u1', color: '#112233', width: 4, tool: 'pen', points: [[0, 0], [1, 1], [2, 4]] },
      { id: 's2', author: 'u1', color: '#445566', width: 4, tool: 'pen', points: [] },
    ])
    expect(findStroke(doc, 's2')?.get('color')).toBe('#445566')
  })

  it('erases by deleting the stroke; appending to an erased stroke is refused', () => {
    const doc = new Y.Doc()
    const stroke = addStroke(doc, { ...pen, id: 's1' })
    expect(eraseStroke(doc, 's1')).toBe(true)
    expect(eraseStroke(doc, 's1')).toBe(false)
    expect(appendPoints(stroke, [[1, 1]])).toBe(false)
    expect(readStrokes(doc)).toEqual([])
  })

  it('rejects input a well-behaved client never produces', () => {
    const doc = new Y.Doc()
    expect(() => addStroke(doc, { ...pen, color: 'red' })).toThrow(/color/)
    expect(() => addStroke(doc, { ...pen, color: '#12345"/><script>' })).toThrow(/color/)
    expect(() => addStroke(doc, { ...pen, width: 0 })).toThrow(/width/)
    expect(() => addStroke(doc, { ...pen, tool: 'laser' as 'pen' })).toThrow(/tool/)
    expect(() => addStroke(doc, { ...pen, points: [[Number.NaN, 1]] })).toThrow(/point/)
    expect(readStrokes(doc)).toEqual([])
  })

  it('skips malformed strokes a hostile client wrote straight into the document', () => {
    const doc = new Y.Doc()
    const bad = new Y.Map<unknown>()
    bad.set('id', 'x')
    bad.set('author', 'm')
    bad.set('color', 'url(javascript:alert(1))')
    bad.set('width', 3)
    bad.set('tool', 'pen')
    strokesOf(doc).push([bad])
    ;(strokesOf(doc) as unknown as Y.Array<unknown>).push(['not a map'])
    addStroke(doc, { ...pen, id: 'ok', points: [[1, 1]] })
    expect(readStrokes(doc).map((s) => s.id)).toEqual(['ok'])
  })
})
