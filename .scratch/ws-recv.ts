// Does receiving 10 MiB in 41 frames block the receiving process (Node's built-in WebSocket vs ws)?
import { WebSocketServer, WebSocket as WsClient } from 'ws'
const wss = new WebSocketServer({ port: 0 })
const frames = Array.from({ length: 41 }, () => new Uint8Array(256 * 1024).fill(1))
wss.on('connection', (s) => { for (const f of frames) s.send(f) })
const port = (wss.address() as { port: number }).port
async function measure(kind: string, open: () => { onmsg: (cb: () => void) => void; close: () => void }) {
  let worst = 0; let last = performance.now()
  const timer = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now }, 1)
  const c = open(); let n = 0; const t0 = performance.now()
  await new Promise<void>((r) => c.onmsg(() => { if (++n === 41) r() }))
  clearInterval(timer); c.close()
  console.log(`${kind}: ${(performance.now() - t0).toFixed(0)} ms, worst timer gap ${worst.toFixed(1)} ms`)
}
for (let i = 0; i < 2; i++) {
  await measure('built-in WebSocket', () => { const ws = new WebSocket(`ws://127.0.0.1:${port}`); ws.binaryType = 'arraybuffer'; return { onmsg: (cb) => ws.addEventListener('message', cb), close: () => ws.close() } })
  await measure('ws', () => { const ws = new WsClient(`ws://127.0.0.1:${port}`); return { onmsg: (cb) => ws.on('message', cb), close: () => ws.close() } })
}
wss.close()
