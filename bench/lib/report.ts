/** The results table (figures and ratios to each peer) and its JSON record. */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Row } from './scenario.ts'
import { ROOT } from './targets.ts'

function format(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  if (unit === 'bytes') return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(1)} MiB` : value >= 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${value.toFixed(0)} B`
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
  return `${value.toFixed(digits)} ${unit}`
}

/** ours ÷ peer, annotated so "better" reads the same for both directions. */
function ratio(ours: number | undefined, peer: number | undefined, lowerIsBetter: boolean): string {
  if (ours === undefined || peer === undefined || !Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return '—'
  const r = ours / peer
  const better = lowerIsBetter ? r <= 1 : r >= 1
  return `${r.toFixed(2)}x ${better ? '✓' : '✗'}`
}

/**
 * One table per run of rows that share their columns (targets, or variants such as storage
 * backends), so no table carries empty columns. Ratios are ours ÷ each peer where ours is a column.
 */
export function table(rows: Row[], order: string[]): string {
  const groups: Row[][] = []
  for (const row of rows) {
    const last = groups.at(-1)
    if (last && sameColumns(last[0]!, row)) last.push(row)
    else groups.push([row])
  }
  return groups.map((group) => groupTable(group, order.filter((c) => c in group[0]!.values))).join('\n\n')
}

function sameColumns(a: Row, b: Row): boolean {
  return Object.keys(a.values).sort().join() === Object.keys(b.values).sort().join()
}

function groupTable(rows: Row[], columns: string[]): string {
  const peers = columns.includes('ours') ? columns.filter((c) => !c.startsWith('ours')) : [] // "ours, 2 nodes" is ours too
  const header = ['Fig', 'Metric', ...columns, ...peers.map((p) => `ours/${p}`)]
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`]
  for (const row of rows) {
    const cells = columns.map((c) => `${row.atLeast?.[c] ? '≥ ' : ''}${format(row.values[c], row.unit)}${row.valid?.[c] === false ? ' (generator-bound)' : ''}`)
    const ratios = peers.map((p) => ratio(row.values.ours, row.values[p], row.lowerIsBetter))
    lines.push(`| ${[row.figure, `${row.metric}${row.note ? ` (${row.note})` : ''}`, ...cells, ...ratios].join(' | ')} |`)
  }
  return lines.join('\n')
}

/** Writes the run under its time; a complete run (every scenario and target) is also `latest-<profile>.json`. */
export async function record(profile: string, rows: Row[], complete: boolean): Promise<string> {
  const dir = path.join(ROOT, 'bench/results')
  await mkdir(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const body = JSON.stringify({ profile, at: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, rows }, null, 2)
  const file = path.join(dir, `${stamp}-${profile}.json`)
  await writeFile(file, body)
  if (complete) await writeFile(path.join(dir, `latest-${profile}.json`), body)
  return file
}
