/**
 * `node scripts/mutation-survivors.ts reports/mutation/<report>.json`: every mutant StrykerJS left
 * alive (survived, or not covered by any test), per file and line, with its mutators and the
 * line's code, as Markdown (docs/mutation-survivors.md is made of these lists and the kinds
 * that explain them).
 */
import { readFileSync } from 'node:fs'

interface Mutant {
  mutatorName: string
  status: string
  location: { start: { line: number } }
}

interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>
}

const file = process.argv[2]
if (!file) throw new Error('usage: node scripts/mutation-survivors.ts <mutation report json>')
const report = JSON.parse(readFileSync(file, 'utf8')) as Report
const alive = (m: Mutant): boolean => m.status === 'Survived' || m.status === 'NoCoverage'

for (const [path, { source, mutants }] of Object.entries(report.files)) {
  const lines = source.split('\n')
  const byLine = new Map<number, string[]>()
  for (const m of mutants.filter(alive).sort((a, b) => a.location.start.line - b.location.start.line || a.mutatorName.localeCompare(b.mutatorName))) {
    const kinds = byLine.get(m.location.start.line) ?? []
    const kind = `${m.mutatorName}${m.status === 'NoCoverage' ? ' (no coverage)' : ''}`
    if (!kinds.includes(kind)) kinds.push(kind)
    byLine.set(m.location.start.line, kinds)
  }
  const count = mutants.filter(alive).length
  process.stdout.write(`\n## \`${path}\` — ${count} survivors (of ${mutants.length} mutants)\n\n`)
  for (const [line, kinds] of byLine) {
    const code = (lines[line - 1] ?? '').trim().slice(0, 100).replaceAll('|', '\\|')
    process.stdout.write(`- line ${line}: ${kinds.join(', ')} — \`${code}\`\n`)
  }
}
