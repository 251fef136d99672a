/**
 * The JWT signing secret: JWT_SECRET when set (required in production). Otherwise, in
 * development and tests, one generated once: kept in the shared MongoDB when MONGODB_URL is set
 * (every node on that store must accept every other node's tokens, so the first node's secret
 * wins), else in DATA_DIR/jwt-secret (mode 0600).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ConfigError, type Config } from '../config.ts'
import type { SettingsStore } from '../storage/types.ts'

const encoder = new TextEncoder()
/** The `settings` key of the shared development secret. */
export const DEV_JWT_SECRET_KEY = 'dev-jwt-secret'

export async function resolveJwtSecret(config: Pick<Config, 'jwtSecret' | 'dataDir' | 'mongodbUrl'>, settings: SettingsStore): Promise<Uint8Array> {
  if (config.jwtSecret) return encoder.encode(config.jwtSecret)
  if (config.mongodbUrl) return encoder.encode(await sharedSecret(settings))
  return encoder.encode(await fileSecret(config.dataDir))
}

async function sharedSecret(settings: SettingsStore): Promise<string> {
  try {
    return await settings.getOrCreate(DEV_JWT_SECRET_KEY, generateSecret)
  } catch (error) {
    // The one start-up step that needs MongoDB: say what to do rather than show a driver trace.
    throw new ConfigError(`JWT_SECRET is not set and the development secret kept in MongoDB cannot be read (${(error as Error).message}): start MongoDB, or set JWT_SECRET`, { cause: error })
  }
}

function generateSecret(): string {
  return randomBytes(48).toString('base64url')
}

async function fileSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'jwt-secret')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await mkdir(dataDir, { recursive: true })
  await writeFile(file, generateSecret(), { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error
  })
  return (await readFile(file, 'utf8')).trim()
}
