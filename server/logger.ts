/**
 * pino through Fastify. Tokens and credentials never reach a log line: request URLs are logged
 * without their query string, and known secret fields are redacted wherever they appear.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'

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

export function loggerOptions(config: Pick<Config, 'logLevel'>): NonNullable<FastifyServerOptions['logger']> {
  return {
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
