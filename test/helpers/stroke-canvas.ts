import * as Y from 'yjs'
import { addStroke } from '../../shared/canvas.ts'

/** A canvas of `strokes` strokes of 40 points each by Ann (about 600 bytes a stroke): a big document fast. */
export function strokeCanvas(strokes: number): Y.Doc {
  const doc = new Y.Doc()
  for (let i = 0; i < strokes; i++) addStroke(doc, { author: 'ann', color: '#000000', width: 2, tool: 'pen', points: Array.from({ length: 40 }, (_, p) => [i + p * 1.5, p * 2.25]) })
  return doc
}
