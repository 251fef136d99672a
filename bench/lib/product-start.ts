/**
 * How `npm start` runs the server: the node flags and environment its start script sets (a capped
 * young generation, fewer malloc arenas). The bench starts ours the same way, and the deploy test
 * holds the Dockerfile to the same settings, so every figure is of the server as operators run it.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'

export interface ProductStart {
  nodeArgs: string[]
  env: Record<string, string>
}

const ROOT = path.resolve(import.meta.dirname, '../..')

/**
 * Parses the last command of package.json's start script: `NAME=${NAME:-value} node --flag server/main.ts`
 * (of this checkout, or of `root`: an A/B run starts each checkout as its own start script says).
 */
export function productStart(root = ROOT): ProductStart {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const command = pkg.scripts.start.split('&&').at(-1)!.trim().split(/\s+/)
  const nodeAt = command.indexOf('node')
  if (nodeAt < 0) throw new Error(`the start script runs no node: ${pkg.scripts.start}`)
  const env = Object.fromEntries(command.slice(0, nodeAt).map(assignment))
  const nodeArgs = command.slice(nodeAt + 1).filter((token) => token.startsWith('--'))
  return { nodeArgs, env }
}

/** `NAME=value` or `NAME=${NAME:-value}` (the operator's own value wins): the name and the default. */
function assignment(token: string): [string, string] {
  const match = /^([A-Z_][A-Z0-9_]*)=(?:\$\{\1:-([^}]*)\}|(.*))$/.exec(token)
  if (!match) throw new Error(`not an environment assignment in the start script: ${token}`)
  return [match[1]!, match[2] ?? match[3]!]
}
