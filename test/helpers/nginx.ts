/**
 * deploy/nginx.conf as shipped, run by the machine's nginx in front of a real two-node cluster
 * (TRUST_PROXY=1, as the compose file sets it): only the node addresses (the compose service
 * names become 127.0.0.1 ports), the listen address and the resolver (Docker's DNS does not
 * exist here) are changed. Debian's nginx is 1.22, older than the `resolve` parameter (open
 * source since 1.27.3): on an nginx that old it is dropped here, and its presence is checked by
 * the deploy test instead.
 */
import { execFile, spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { startCluster, type TestCluster } from './cluster.ts'
import { freePort, waitForPort } from './ports.ts'
import { tempDir } from './server.ts'

const root = path.resolve(import.meta.dirname, '../..')

export interface RunningNginx {
  url: string
  collabUrl: string
  cluster: TestCluster
  close(): Promise<void>
}

export async function runNginx(env: Record<string, string> = {}): Promise<RunningNginx> {
  const version = await nginxVersion()
  const cluster = await startCluster(2, { TRUST_PROXY: '1', LOG_LEVEL: 'info', ...env })
  const dir = await tempDir('nginx-')
  try {
    const port = await freePort()
    const [one, two] = cluster.live()
    let conf = (await readFile(path.join(root, 'deploy/nginx.conf'), 'utf8'))
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace('server app1:8080', `server 127.0.0.1:${one!.port}`)
      .replace('server app2:8080', `server 127.0.0.1:${two!.port}`)
      .replace('resolver 127.0.0.11', 'resolver 127.0.0.1')
    if (compareVersions(version, [1, 27, 3]) < 0) conf = conf.replace(/ resolve(?= )/g, '')
    const file = path.join(dir.path, 'nginx.conf')
    await writeFile(file, conf)
    const globals = `pid ${dir.path}/nginx.pid; error_log ${dir.path}/error.log;`
    await promisify(execFile)('nginx', ['-t', '-q', '-p', dir.path, '-c', file, '-g', globals])
    const child = spawn('nginx', ['-p', dir.path, '-c', file, '-g', `daemon off; ${globals}`], { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await waitForPort(port, 10_000)
    return {
      url: `http://127.0.0.1:${port}`,
      collabUrl: `ws://127.0.0.1:${port}/collab`,
      cluster,
      close: async () => {
        child.kill('SIGTERM')
        await exited
        await cluster.close()
        await dir.remove()
      },
    }
  } catch (error) {
    await cluster.close()
    await dir.remove()
    throw error
  }
}

async function nginxVersion(): Promise<number[]> {
  let output: string
  try {
    output = (await promisify(execFile)('nginx', ['-v'])).stderr
  } catch {
    throw new Error('nginx is not installed: apt-get install nginx-light (.ci/run does)')
  }
  const match = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(output)
  if (!match) throw new Error(`unexpected nginx -v output: ${output}`)
  return match.slice(1).map(Number)
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}
