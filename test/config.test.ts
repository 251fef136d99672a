/** One validated config object: every setting from the environment, bad values named. */
import { describe, expect, it } from 'vitest'
import { ConfigError, EXAMPLE_JWT_SECRET, loadConfig } from '../server/config.ts'

const SECRET = 'x'.repeat(40)

function error(env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (caught) {
    expect(caught).toBeInstanceOf(ConfigError)
    return (caught as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('gives defaults for an empty environment', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({ nodeEnv: 'development', port: 8080, mongodbUrl: undefined, redisUrl: undefined, maxPayloadBytes: 8 * 1024 * 1024 })
    expect(config.dataDir).toMatch(/^\//)
  })

  it('reads every kind of value', () => {
    const config = loadConfig({ PORT: '9000', EMBEDDED_FSYNC: 'true', CORS_ORIGINS: 'https://a.example, https://b.example', MONGODB_URL: 'mongodb://db:27017', REDIS_URL: 'redis://r:6379' })
    expect(config).toMatchObject({ port: 9000, embeddedFsync: true, corsOrigins: ['https://a.example', 'https://b.example'], redisUrl: 'redis://r:6379' })
  })

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ EMBEDDED_FSYNC: 'maybe' }, 'EMBEDDED_FSYNC'],
    [{ MONGODB_URL: 'postgres://x' }, 'MONGODB_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ MAX_PAYLOAD_BYTES: '12' }, 'MAX_PAYLOAD_BYTES'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
  ])('names the bad variable in %o', (env, name) => {
    expect(error(env)).toContain(name)
  })

  it('refuses Redis without shared snapshot storage', () => {
    expect(error({ REDIS_URL: 'redis://r:6379' })).toMatch(/REDIS_URL requires MONGODB_URL/)
  })

  it('refuses to start in production without a real secret', () => {
    expect(error({ NODE_ENV: 'production' })).toMatch(/JWT_SECRET is required/)
    expect(error({ NODE_ENV: 'production', JWT_SECRET: EXAMPLE_JWT_SECRET })).toMatch(/example value/)
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET)
  })
})
