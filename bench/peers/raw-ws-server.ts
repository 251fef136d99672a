/**
 * The ceiling: a WebSocket broadcast server with no CRDT. Each frame from a socket goes to every
 * other socket in the same room (the URL path). Nothing is parsed, stored or merged.
 */
import http from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'

const rooms = new Map<string, Set<WebSocket>>()
const server = http.createServer((_request, response) => response.end('ok'))
const wss = new WebSocketServer({ server, perMessageDeflate: false })

wss.on('connection', (ws, request) => {
  const room = request.url ?? '/'
  const peers = rooms.get(room) ?? new Set<WebSocket>()
  rooms.set(room, peers)
  peers.add(ws)
  ws.on('message', (data, isBinary) => {
    for (const peer of peers) if (peer !== ws) peer.send(data, { binary: isBinary })
  })
  ws.on('close', () => {
    peers.delete(ws)
    if (peers.size === 0) rooms.delete(room)
  })
})

server.listen(Number(process.env.PORT), '127.0.0.1')
