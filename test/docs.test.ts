/** The README's configuration table is the config module's SETTINGS, row for row. */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { expect, it } from 'vitest'
import { SETTINGS } from '../server/config.ts'

const root = path.resolve(import.meta.dirname, '..')

export function configTable(): string {
  const rows = Object.values(SETTINGS).map((s) => {
    const fallback = s.fallback === undefined ? '—' : Array.isArray(s.fallback) ? (s.fallback.join(',') || '(empty)') : String(s.fallback)
    return `| \`${s.env}\` | \`${fallback}\` | ${s.description} |`
  })
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n')
}

it('README documents every setting exactly as the config module defines it', async () => {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  expect(readme).toContain(configTable())
})
