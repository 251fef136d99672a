/**
 * Figure 9: REST `GET /groups` (my groups) and `GET /groups/:id`, and socket authorization (new
 * socket → first frame, room already loaded), with the membership cache on and off
 * (ACCESS_CACHE_TTL_MS=0), on the embedded store and on MongoDB. The system this replaces
 * reported 8.7 ms uncached and 3 ms with its Redis cache for its group query.
 */
import { randomBytes } from 'node:crypto'
import { runJob, startJob } from '../lib/generator.ts'
import { mongoEnv, startInfra, type Infra } from '../lib/infra.ts'
import type { ConnectResult, HttpJob, HttpResult, RawSyncJob, RawSyncResult } from '../lib/jobs.ts'
import type { Row, Scenario, ScenarioContext } from '../lib/scenario.ts'
import { summarize } from '../lib/stats.ts'
import { startOurs } from '../lib/targets.ts'

const GROUPS = 10

interface Variant {
  name: string
  env: (infra: Infra) => Record<string, string>
}

const VARIANTS: Variant[] = [
  { name: 'embedded, cached', env: () => ({}) },
  { name: 'embedded, uncached', env: () => ({ ACCESS_CACHE_TTL_MS: '0' }) },
  { name: 'mongodb, cached', env: (infra) => mongoEnv(infra, `bench_${randomBytes(4).toString('hex')}`) },
  { name: 'mongodb, uncached', env: (infra) => ({ ...mongoEnv(infra, `bench_${randomBytes(4).toString('hex')}`), ACCESS_CACHE_TTL_MS: '0' }) },
]

async function measure(ctx: ScenarioContext, variant: Variant, infra: Infra): Promise<{ list: number[]; one: number[]; socket: number[] }> {
  const target = await startOurs({ env: variant.env(infra) })
  try {
    const rooms = await target.rooms(GROUPS)
    const groupId = rooms[0]!.split('/')[0]!
    const http: HttpJob = { kind: 'http', base: target.httpBase, token: target.spec.token!, paths: ['/groups', `/groups/${groupId}`], repeat: ctx.profile.restRequests }
    const rest = await runJob<HttpResult>(http, target.pid)
    const held = startJob<ConnectResult>({ kind: 'connect', target: target.spec, rooms: [rooms[0]!], perRoom: 1, hold: true }, target.pid)
    await held.phase('connected')
    const sockets = await runJob<RawSyncResult>({ kind: 'raw-sync', target: target.spec, rooms: [rooms[0]!], repeat: Math.ceil(ctx.profile.restRequests / 3) } satisfies RawSyncJob, target.pid)
    held.stop()
    await held.done
    return { list: rest.result.times[0]!, one: rest.result.times[1]!, socket: sockets.result.firstFrameMs }
  } finally {
    await target.stop()
  }
}

export const restAuth: Scenario = {
  id: 'rest-auth',
  figure: 9,
  title: 'REST and socket authorization latency, cached vs uncached',
  async run(ctx) {
    if (!ctx.targets.includes('ours')) return []
    const infra = await startInfra()
    try {
      const rows = new Map<string, Row>()
      const put = (metric: string, variant: string, value: number): void => {
        const row = rows.get(metric) ?? { figure: 9, metric, unit: 'ms', lowerIsBetter: true, values: {} }
        row.values[variant] = value
        rows.set(metric, row)
      }
      for (const variant of VARIANTS) {
        const { list, one, socket } = await measure(ctx, variant, infra)
        for (const [label, samples] of [['GET /groups', list], ['GET /groups/:id', one], ['socket authorization (to first frame)', socket]] as const) {
          const summary = summarize(samples)
          put(`${label}: p50`, variant.name, summary.p50)
          put(`${label}: p99`, variant.name, summary.p99)
          ctx.log(`  ${variant.name} ${label}: p50 ${summary.p50.toFixed(2)} ms, p99 ${summary.p99.toFixed(2)} ms`)
        }
      }
      return [...rows.values()]
    } finally {
      await infra.stop()
    }
  },
}
