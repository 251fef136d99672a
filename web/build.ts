/**
 * Bundles the web client into web/dist with esbuild: app.js and styles.css (with source maps),
 * sw.js (the service worker, a classic script), plus index.html, favicon.svg and the web app
 * manifest as they are.
 * `node web/build.ts` builds it; tests import `buildWeb()`.
 *
 * Files are written to a temporary name and renamed into place, so a server reading web/dist
 * (or another test file building at the same moment) never sees a half-written file.
 */
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { build } from 'esbuild'

const WEB = import.meta.dirname
export const WEB_DIST = path.join(WEB, 'dist')
/** Copied as they are. */
const STATIC_FILES = ['index.html', 'favicon.svg', 'manifest.webmanifest']

export interface BuiltWeb {
  outdir: string
  files: string[]
}

export async function buildWeb(outdir = WEB_DIST): Promise<BuiltWeb> {
  await mkdir(outdir, { recursive: true })
  const result = await build({
    entryPoints: { app: path.join(WEB, 'src/main.ts'), styles: path.join(WEB, 'styles.css') },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    write: false,
    logLevel: 'warning',
  })
  const worker = await build({
    entryPoints: { sw: path.join(WEB, 'src/sw.ts') },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'warning',
  })
  const files: string[] = []
  for (const file of [...result.outputFiles, ...worker.outputFiles]) {
    await writeAtomically(file.path, file.contents)
    files.push(path.relative(outdir, file.path))
  }
  for (const name of STATIC_FILES) {
    await copyAtomically(path.join(WEB, name), path.join(outdir, name))
    files.push(name)
  }
  return { outdir, files }
}

let sequence = 0

function temporaryName(file: string): string {
  return `${file}.${process.pid}.${sequence++}.tmp`
}

async function writeAtomically(file: string, contents: Uint8Array): Promise<void> {
  const temporary = temporaryName(file)
  await writeFile(temporary, contents)
  await rename(temporary, file)
}

async function copyAtomically(from: string, to: string): Promise<void> {
  const temporary = temporaryName(to)
  await copyFile(from, temporary)
  await rename(temporary, to)
}

if (import.meta.main) {
  const built = await buildWeb()
  process.stdout.write(`web client built into ${path.relative(process.cwd(), built.outdir) || '.'}: ${built.files.join(', ')}\n`)
}
