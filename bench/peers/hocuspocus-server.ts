/** Hocuspocus 4 as its README starts it: in memory, no extensions, quiet. */
import { Server } from '@hocuspocus/server'

const server = new Server({ port: Number(process.env.PORT), address: '127.0.0.1', quiet: true, stopOnSignals: true, websocketOptions: { maxPayload: 256 * 1024 * 1024 } })
await server.listen()
