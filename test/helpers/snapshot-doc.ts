import * as Y from 'yjs'
import { decodeSnapshot } from '../../server/collab/compaction/snapshot-codec.ts'

/** The document a stored snapshot holds (its pieces applied in order). */
export function snapshotDoc(bytes: Uint8Array): Y.Doc {
  const doc = new Y.Doc()
  for (const piece of decodeSnapshot(bytes)) Y.applyUpdate(doc, piece)
  return doc
}
