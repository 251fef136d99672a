/**
 * pino through Fastify. Tokens and credentials never reach a log line: request URLs are logged
 * without their query string, and known secret fields are redacted wherever they appear.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'
import { prettyDestination } from './pretty-log.ts'

export type Logger = FastifyBaseLogger

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.password',
  '*.jwtSecret',
]

/**
 * JSON lines (for machines: log shippers, `docker logs`, tests), or one readable line per event
 * when `LOG_FORMAT=pretty`, or `auto` and stdout is a terminal.
 */
export function loggerOptions(config: Pick<Config, 'logLevel' | 'logFormat'>, out: NodeJS.WriteStream = process.stdout): NonNullable<FastifyServerOptions['logger']> {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && out.isTTY === true)
  return {
    ...(pretty && { stream: prettyDestination(out, { color: out.isTTY === true }) }),
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        url: withoutQuery(req.url),
        ip: req.ip,
      }),
    },
  }
}

export function withoutQuery(url: string): string {
  const index = url.indexOf('?')
  return index === -1 ? url : url.slice(0, index)
}
