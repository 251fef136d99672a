/**
 * A newcomer with a too-old Node gets one line saying what is needed, what was found and where
 * the README explains how to get it, from both `npm ci` and `npm start`, and a non-zero exit —
 * no stack trace.
 *
 * The old Node is the machine's /usr/bin/node when it is older than 22.18 (Debian ships 20);
 * elsewhere it is the current Node made to report 22.17.0 by a preloaded file (test only). Either
 * way it is put first on PATH as `node`, so npm runs the project's real lifecycle scripts with it,
 * in a temporary copy of the project (package.json without dependencies, so `npm ci` installs
 * nothing; npm runs the root project's `preinstall` after installing dependencies).
 */
import { execFile, execFileSync } from 'node:child_process'
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/server.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SYSTEM_NODE = '/usr/bin/node'
const MESSAGE = /^canvas-collab-server needs Node\.js >= 22\.18 but found (v\S+) \(.+\); see "Getting Node" in README\.md for how to install it\.$/

interface Run {
  code: number
  stdout: string
  stderr: string
}

async function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, options)
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

function isOld(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number)
  return major < 22 || (major === 22 && minor < 18)
}

function systemNodeVersion(): string | null {
  try {
    return execFileSync(SYSTEM_NODE, ['-p', 'process.version'], { encoding: 'utf8' }).trim()
  } catch {
    return null
  }
}

/** A `bin/node` that is the machine's old Node (fakeVersion null, when there is one) or poses as `fakeVersion` (default v22.17.0); returns the version it reports. */
async function posingNode(bin: string, fakeVersion: string | null): Promise<string> {
  await mkdir(bin, { recursive: true })
  const system = systemNodeVersion()
  if (fakeVersion === null && system !== null && isOld(system)) {
    await symlink(SYSTEM_NODE, path.join(bin, 'node'))
    return system
  }
  const version = fakeVersion ?? 'v22.17.0'
  const preload = path.join(bin, 'fake-version.cjs')
  await writeFile(preload, `Object.defineProperty(process, 'version', { value: ${JSON.stringify(version)} })
Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version.slice(1))} })
`)
  await writeFile(path.join(bin, 'node'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --require ${JSON.stringify(preload)} "$@"\n`)
  await chmod(path.join(bin, 'node'), 0o755)
  return version
}

/** The project's package.json (its real scripts) and check script, without dependencies. */
async function projectCopy(dir: string): Promise<void> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
  delete pkg.dependencies
  delete pkg.devDependencies
  await writeFile(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2))
  const root = { name: pkg.name, version: pkg.version, hasInstallScript: true, license: pkg.license }
  await writeFile(path.join(dir, 'package-lock.json'), JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages: { '': root } }, null, 2))
  await mkdir(path.join(dir, 'scripts'))
  await copyFile(path.join(ROOT, 'scripts/check-node.cjs'), path.join(dir, 'scripts/check-node.cjs'))
}

function npmEnv(bin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  }
}

function expectOneLineRefusal(result: Run, version: string): void {
  const output = `${result.stdout}\n${result.stderr}`
  expect(result.code, output).not.toBe(0)
  const lines = output.split('\n').filter((line) => line.includes('needs Node.js'))
  expect(lines, output).toHaveLength(1)
  expect(lines[0]).toMatch(MESSAGE)
  expect(MESSAGE.exec(lines[0]!)?.[1]).toBe(version)
  expect(output).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|^\s+at /m)
}

describe('Node version check', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let bin: string
  let version: string

  beforeAll(async () => {
    dir = await tempDir('collab-node-check-')
    bin = path.join(dir.path, 'bin')
    version = await posingNode(bin, null)
    await projectCopy(dir.path)
  })

  afterAll(async () => {
    await dir.remove()
  })

  it('npm start: one line, non-zero exit, the server never starts', async () => {
    const result = await run('npm', ['start'], { cwd: dir.path, env: npmEnv(bin) })
    expectOneLineRefusal(result, version)
    expect(result.stdout).not.toContain('build:web')
  })

  it('npm ci: one line, non-zero exit', async () => {
    const result = await run('npm', ['ci'], { cwd: dir.path, env: npmEnv(bin) })
    expectOneLineRefusal(result, version)
  })

  it('the README section the line points to exists', async () => {
    expect(await readFile(path.join(ROOT, 'README.md'), 'utf8')).toMatch(/^#+ Getting Node$/m)
  })
})

describe('Node version check: versions', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>

  beforeAll(async () => {
    dir = await tempDir('collab-node-versions-')
  })

  afterAll(async () => {
    await dir.remove()
  })

  it.each([
    ['v10.24.1', false], ['v20.20.2', false], ['v22.17.9', false], ['v22.18.0', true], ['v23.0.0', true], ['v24.21.0', true], ['v100.1.0', true],
  ])('%s is accepted: %s', async (fake, accepted) => {
    const bin = path.join(dir.path, fake)
    await posingNode(bin, fake)
    const result = await run(path.join(bin, 'node'), [path.join(ROOT, 'scripts/check-node.cjs')], { cwd: ROOT, env: process.env })
    if (accepted) expect(result).toEqual({ code: 0, stdout: '', stderr: '' })
    else expectOneLineRefusal(result, fake)
  })
})
