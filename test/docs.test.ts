/** The README's configuration table is the config module's SETTINGS, row for row. */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { expect, it } from 'vitest'
import { configTable } from './helpers/config-table.ts'

const root = path.resolve(import.meta.dirname, '..')

it('README documents every setting exactly as the config module defines it (node test/helpers/config-table.ts)', async () => {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  expect(readme).toContain(configTable())
})
