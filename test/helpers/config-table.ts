/** The README's configuration table, rendered from SETTINGS. `node test/helpers/config-table.ts` prints it. */
import { SETTINGS } from '../../server/config.ts'

export function configTable(): string {
  const rows = Object.values(SETTINGS).map((s) => {
    const fallback = s.fallback === undefined ? '—' : Array.isArray(s.fallback) ? (s.fallback.join(',') || '(empty)') : String(s.fallback)
    return `| \`${s.env}\` | \`${fallback}\` | ${s.description} |`
  })
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n')
}

if (import.meta.main) process.stdout.write(`${configTable()}\n`)
