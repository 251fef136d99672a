/**
 * Raw TCP clients for HTTP tests: hostile ones that drip a request a byte at a time (or say
 * nothing), and an honest one-shot GET from a chosen source address (all of 127.0.0.0/8 is
 * loopback on Linux, so 127.0.0.2 is "another client" to a server on 127.0.0.1).
 */
import http from 'node:http'
import net from 'node:net'

export interface RawConnection {
  /** Everything the server sent so far. */
  readonly received: string
  readonly isClosed: boolean
  /** Resolves when the connection is closed, by either side, for any reason. */
  readonly closed: Promise<void>
  /** Writes `prefix` a byte at a time, then `filler` forever, one byte every `everyMs`. */
  drip(prefix: string, filler: string, everyMs: number): void
  write(bytes: string): void
  destroy(): void
}

/** Opens a TCP connection (resolves once connected, or rejects if it is refused). */
export function openRaw(port: number, localAddress = '127.0.0.1'): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress })
  let received = ''
  let isClosed = false
  let timer: NodeJS.Timeout | undefined
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { received += chunk })
  socket.on('error', () => undefined) // resets are an expected outcome here; `closed` reports them
  const closed = new Promise<void>((resolve) => socket.once('close', () => {
    isClosed = true
    clearInterval(timer)
    resolve()
  }))
  const connection: RawConnection = {
    get received() { return received },
    get isClosed() { return isClosed },
    closed,
    drip(prefix, filler, everyMs) {
      let sent = 0
      timer = setInterval(() => {
        if (socket.writable) socket.write(sent < prefix.length ? prefix[sent++]! : filler)
      }, everyMs)
    },
    write: (bytes) => void socket.write(bytes),
    destroy: () => {
      clearInterval(timer)
      socket.destroy()
    },
  }
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(connection))
    socket.once('error', reject)
  })
}

/** The status of a one-shot GET (own connection, closed after), or the error code if it failed. */
export function getOnce(port: number, path: string, localAddress = '127.0.0.1'): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.request({ host: '127.0.0.1', port, path, localAddress, agent: false, headers: { connection: 'close' } }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    request.end()
  })
}
