/** Process entry: config, listen, signals, graceful shutdown. */
import type { AddressInfo } from 'node:net'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'
import { startupLine } from './startup-line.ts'

async function main(): Promise<void> {
  const config = loadConfig()
  const app = await buildApp(config)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down')
    const forced = setTimeout(() => {
      app.log.error('shutdown took too long; exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    forced.unref()
    app.close().then(() => process.exit(0), (error: unknown) => {
      app.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  await app.listen({ host: config.host, port: config.port })
  const { msg, url, mode } = startupLine(config, app.server.address() as AddressInfo)
  app.log.info({ url, mode }, msg)
}

main().catch((error: unknown) => {
  // Before the logger exists (bad config) stderr is the only channel.
  const message = error instanceof ConfigError ? `configuration error: ${error.message}` : String((error as Error)?.stack ?? error)
  process.stderr.write(`${message}\n`)
  process.exit(1)
})
