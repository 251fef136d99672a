import * as Y from 'yjs'
import { STROKES_KEY } from '../../shared/canvas.ts'
import { MESSAGES_KEY } from '../../shared/chat.ts'
import type { Room } from '../../server/collab/room/room.ts'

/** The canvas and chat roots as JSON (root types must be named to be read from a Y.Doc). */
export function docJson(doc: Y.Doc): unknown {
  return { strokes: doc.getArray(STROKES_KEY).toJSON(), messages: doc.getArray(MESSAGES_KEY).toJSON() }
}

export function stateVector(doc: Y.Doc): string {
  return Buffer.from(Y.encodeStateVector(doc)).toString('hex')
}

/** Same JSON and same state vector: nothing is missing on either side. */
export function sameContent(a: Y.Doc, b: Y.Doc): boolean {
  return JSON.stringify(docJson(a)) === JSON.stringify(docJson(b)) && stateVector(a) === stateVector(b)
}

/** What a hot room holds, as a document (rooms keep bytes; this builds one, for assertions). */
export function roomDoc(room: Room): Y.Doc {
  const doc = new Y.Doc()
  const { pieces, since } = room.bytes.contents()
  for (const update of [...pieces, ...since.map((a) => a.update)]) Y.applyUpdate(doc, update)
  return doc
}
