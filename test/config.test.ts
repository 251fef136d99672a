/** One validated config object: every setting from the environment, bad values named. */
import { execFile } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
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
    [{ METRICS_PUBLIC: 'perhaps' }, 'METRICS_PUBLIC'],
    [{ MAX_CONNECTIONS_PER_ADDRESS: '-1' }, 'MAX_CONNECTIONS_PER_ADDRESS'],
    [{ HTTP_HEADERS_TIMEOUT_MS: '0' }, 'HTTP_HEADERS_TIMEOUT_MS'],
    [{ MAX_GROUPS_PER_USER: '0' }, 'MAX_GROUPS_PER_USER'],
  ])('names the bad variable in %o', (env, name) => {
    expect(error(env)).toContain(name)
  })

  it('never echoes a connection string it cannot parse: it may hold a password', () => {
    const envs: Array<Record<string, string>> = [{ MONGODB_URL: 'mongodb://admin:s3cr3t-pw@db:notaport/collab' }, { REDIS_URL: 'redis://:s3cr3t-pw@[::1' }]
    for (const env of envs) {
      const message = error(env)
      expect(message).toContain(Object.keys(env)[0])
      expect(message).not.toContain('s3cr3t')
    }
  })

  it('TRUST_PROXY believes a hop count or the balancer\'s addresses, never anyone (true)', () => {
    expect(loadConfig({}).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1)
    expect(loadConfig({ TRUST_PROXY: '10.0.0.5, 172.16.0.0/12,::1' }).trustProxy).toEqual(['10.0.0.5', '172.16.0.0/12', '::1'])
    expect(error({ TRUST_PROXY: 'true' })).toMatch(/TRUST_PROXY=true would let any client choose its address/)
    expect(error({ TRUST_PROXY: '10.0.0.0/33' })).toContain('TRUST_PROXY')
    expect(error({ TRUST_PROXY: 'balancer.local' })).toContain('TRUST_PROXY')
  })

  it('refuses a membership cache that outlives the revocation deadline', () => {
    expect(error({ ACCESS_CACHE_TTL_MS: '90000', REVOCATION_DEADLINE_MS: '60000' })).toMatch(/ACCESS_CACHE_TTL_MS must not exceed REVOCATION_DEADLINE_MS/)
  })

  it('refuses Redis without shared snapshot storage', () => {
    expect(error({ REDIS_URL: 'redis://r:6379' })).toMatch(/REDIS_URL requires MONGODB_URL/)
  })

  it('refuses to start in production without a real secret', () => {
    expect(error({ NODE_ENV: 'production' })).toMatch(/JWT_SECRET is required/)
    expect(error({ NODE_ENV: 'production', JWT_SECRET: EXAMPLE_JWT_SECRET })).toMatch(/example value/)
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'scrape' }).jwtSecret).toBe(SECRET)
  })

  it('refuses to start in production with public metrics unless told so explicitly', () => {
    expect(error({ NODE_ENV: 'production', JWT_SECRET: SECRET })).toMatch(/METRICS_TOKEN is required/)
    expect(error({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: '' })).toMatch(/METRICS_TOKEN/)
    expect(error({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_PUBLIC: 'false' })).toMatch(/METRICS_TOKEN/)
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_TOKEN: 'scrape' }).metricsToken).toBe('scrape')
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, METRICS_PUBLIC: 'true' })).toMatchObject({ metricsToken: undefined, metricsPublic: true })
    expect(loadConfig({}).metricsPublic).toBe(false) // development serves them without a token
  })

  it('the process itself refuses to start in production with public metrics, naming METRICS_TOKEN', async () => {
    const main = path.resolve(import.meta.dirname, '../server/main.ts')
    // Were it to start, it would stay up until the timeout kills it (and keep its data out of the tree).
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production', JWT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(os.tmpdir(), 'collab-config-test') }
    const run = promisify(execFile)(process.execPath, [main], { env, timeout: 20_000 })
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/configuration error: METRICS_TOKEN is required/) })
  })

  it('refuses a headers deadline longer than the whole-request deadline', () => {
    expect(error({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '4000' })).toMatch(/HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS/)
  })

  it('refuses a write budget smaller than one frame (a client resending its edits in one frame could never pay)', () => {
    expect(error({ WRITE_BYTES_PER_MINUTE: '1048576', MAX_PAYLOAD_BYTES: '2097152' })).toMatch(/WRITE_BYTES_PER_MINUTE must be at least MAX_PAYLOAD_BYTES/)
  })
})
