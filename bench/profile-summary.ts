/**
 * `node bench/profile-summary.ts <file.cpuprofile> [--top 25] [--skip <seconds of startup>]`: where a V8 CPU profile's time
 * went, as the README's performance section quotes it. Self time by function (with its file and
 * line), and inclusive time by source file of ours (server/, shared/) and by package, each as a
 * share of the busy time (idle and GC shown apart). Make a profile with
 * `BENCH_OURS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --only cpu --targets ours`.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, skip: { type: 'string', default: '0' } } })
const file = positionals[0]
if (!file) throw new Error('usage: node bench/profile-summary.ts <file.cpuprofile> [--top N]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
// --skip <seconds>: leave out the first seconds (startup: module loading, compiling).
{
  const skipUs = Number(values.skip) * 1e6
  let at = 0
  const first = profile.timeDeltas.findIndex((delta) => (at += delta) >= skipUs)
  profile.samples = profile.samples.slice(Math.max(0, first))
  profile.timeDeltas = profile.timeDeltas.slice(Math.max(0, first))
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

/** Microseconds of samples per node (self time). */
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

const special = (name: string): boolean => name === '(idle)' || name === '(program)' || name === '(garbage collector)'
let busy = 0
const apart = new Map<string, number>()
for (const [id, us] of self) {
  const name = byId.get(id)!.callFrame.functionName
  if (name === '(idle)') apart.set(name, (apart.get(name) ?? 0) + us)
  else busy += us
  if (special(name) && name !== '(idle)') apart.set(name, (apart.get(name) ?? 0) + us)
}

/** Where a frame's code lives: our file (server/..., shared/...), a package, or node itself. */
function placeOf(url: string): string {
  if (url === '') return '(native)'
  const ours = /\/(server|shared)\/(.+)$/.exec(url)
  if (ours && !url.includes('node_modules')) return `${ours[1]}/${ours[2]}`
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  return url.startsWith('node:') ? url : '(other)'
}

const selfByFunction = new Map<string, number>()
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame
  if (functionName === '(idle)') continue
  const key = `${functionName || '(anonymous)'}  ${placeOf(url)}${url ? `:${lineNumber + 1}` : ''}`
  selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us)
}

// Inclusive per place: each sample counts once for every distinct place on its stack.
const inclusive = new Map<string, number>()
profile.samples.forEach((leaf, i) => {
  if (byId.get(leaf)!.callFrame.functionName === '(idle)') return
  const places = new Set<string>()
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) places.add(placeOf(byId.get(id)!.callFrame.url))
  for (const place of places) inclusive.set(place, (inclusive.get(place) ?? 0) + (profile.timeDeltas[i] ?? 0))
})

const top = Number(values.top)
const pct = (us: number): string => `${((us / busy) * 100).toFixed(1)}%`
const print = (title: string, entries: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`)
  for (const [key, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(us).padStart(6)}  ${key}\n`)
}
process.stdout.write(`busy ${(busy / 1e6).toFixed(2)} s; idle ${((apart.get('(idle)') ?? 0) / 1e6).toFixed(2)} s; GC ${pct(apart.get('(garbage collector)') ?? 0)} of busy; (program) ${pct(apart.get('(program)') ?? 0)}\n`)
print('self time by function (share of busy time)', selfByFunction)
print('inclusive time by file or package', new Map([...inclusive].filter(([place]) => place !== '(native)' && place !== '(other)')))
