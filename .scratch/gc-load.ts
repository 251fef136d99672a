import * as Y from 'yjs'
import { canvasOfSize } from '/work/main/bench/lib/fixtures.ts'
import { splitUpdate } from '/work/main/server/collab/split-update.ts'
const piece = Number(process.argv[2] ?? 262144)
const full = Y.encodeStateAsUpdate(canvasOfSize(10 * 1024 * 1024))
const pieces = splitUpdate(full, piece)
globalThis.gc?.()
const doc = new Y.Doc()
let worst = 0; const t0 = performance.now()
for (const p of pieces) { const t = performance.now(); Y.applyUpdate(doc, p); worst = Math.max(worst, performance.now() - t); await new Promise((r) => setImmediate(r)) }
console.log(`piece ${piece}: ${pieces.length} pieces, total ${(performance.now() - t0).toFixed(0)} ms, worst apply ${worst.toFixed(1)} ms`)
