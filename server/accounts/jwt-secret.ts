/**
 * The JWT signing secret: JWT_SECRET when set (required in production); otherwise, in
 * development, one generated once and kept in DATA_DIR/jwt-secret (mode 0600).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Config } from '../config.ts'

const encoder = new TextEncoder()

export async function resolveJwtSecret(config: Pick<Config, 'jwtSecret' | 'dataDir'>): Promise<Uint8Array> {
  if (config.jwtSecret) return encoder.encode(config.jwtSecret)
  const file = path.join(config.dataDir, 'jwt-secret')
  try {
    return encoder.encode((await readFile(file, 'utf8')).trim())
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await mkdir(config.dataDir, { recursive: true })
  const secret = randomBytes(48).toString('base64url')
  await writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error
  })
  return encoder.encode((await readFile(file, 'utf8')).trim())
}
