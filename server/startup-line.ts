/** The last start-up line: where to point a browser, and which of the three modes is running. */
import type { AddressInfo } from 'node:net'
import type { Config } from './config.ts'

export type Mode = 'embedded' | 'mongodb' | 'cluster'

export interface StartupLine {
  url: string
  mode: Mode
  msg: string
}

function modeText(mode: Mode, dataDir: string, redisCluster: boolean): string {
  if (mode === 'cluster') return `cluster mode (MongoDB + ${redisCluster ? 'a Redis Cluster' : 'Redis'}; more nodes may join on the same stores)`
  return mode === 'mongodb' ? 'MongoDB mode (one node)' : `embedded mode (one node, data in ${dataDir})`
}

export function modeOf(config: Pick<Config, 'mongodbUrl' | 'redisUrl' | 'redisClusterNodes'>): Mode {
  if (config.redisUrl || config.redisClusterNodes) return 'cluster'
  return config.mongodbUrl ? 'mongodb' : 'embedded'
}

export function startupLine(config: Pick<Config, 'mongodbUrl' | 'redisUrl' | 'redisClusterNodes' | 'host' | 'dataDir'>, address: AddressInfo): StartupLine {
  const url = `http://${browsableHost(config.host)}:${address.port}`
  const mode = modeOf(config)
  return { url, mode, msg: `ready: open ${url} in a browser; ${modeText(mode, config.dataDir, config.redisClusterNodes !== undefined)}` }
}

/** A wildcard address is not something to type into a browser; this machine is reachable as localhost. */
function browsableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost'
  return host.includes(':') ? `[${host}]` : host
}
