/**
 * Documents of a given encoded size, made of realistic canvas content (strokes with growing
 * point lists, built through the shared schema helpers).
 */
import * as Y from 'yjs'
import { addStroke, appendPoints } from '../../shared/canvas.ts'

/** A canvas document whose full state encodes to about `bytes` bytes, drawn by `author`. */
export function canvasOfSize(bytes: number, seed = 1, author = 'bench'): Y.Doc {
  const doc = new Y.Doc()
  let x = seed
  const next = (): number => {
    x = (x * 16807) % 2147483647
    return (x % 2000) / 2
  }
  const batch = (): void => doc.transact(() => {
    for (let s = 0; s < 50; s++) {
      const stroke = addStroke(doc, { author, color: '#336699', width: 2, tool: 'pen', points: [[next(), next()]] })
      for (let p = 0; p < 40; p++) appendPoints(stroke, [[next(), next()]])
    }
  })
  batch()
  // Encoding is the costly part: extrapolate from one batch, then top up.
  const perBatch = Y.encodeStateAsUpdate(doc).length
  for (let i = 1; i < Math.floor(bytes / perBatch); i++) batch()
  while (Y.encodeStateAsUpdate(doc).length < bytes) batch()
  return doc
}

/**
 * A canvas made as people make one: `strokes` strokes, each its own transaction with 8-27 points,
 * and every tenth stroke extended by one more point in a transaction of its own. The updates are
 * those transactions, in order (what the document's structure is made of: many small items).
 */
export function editedCanvas(strokes: number, author: string): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  let x = 7
  const next = (): number => {
    x = (x * 16807) % 2147483647
    return (x % 2000) / 2
  }
  for (let i = 0; i < strokes; i++) {
    const points = Array.from({ length: 8 + (i % 20) }, (): [number, number] => [next(), next()])
    const stroke = addStroke(doc, { author, color: '#336699', width: 2, tool: 'pen', points })
    if (i % 10 === 0) appendPoints(stroke, [[next(), next()]])
  }
  return { doc, updates }
}
