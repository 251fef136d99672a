/** Background work never throws out of its loop: failures are caught, counted, logged with backoff and retried. */
import pino from 'pino'
import { expect, it } from 'vitest'
import { BackgroundFailures, BackgroundLoop } from '../server/background-loop.ts'
import { waitFor } from './helpers/wait.ts'

function capture(): { logger: pino.Logger; lines: Array<{ msg: string; failures?: number }> } {
  const lines: Array<{ msg: string; failures?: number }> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; failures?: number }) })
  return { logger, lines }
}

it('catches a failing task, counts every failure, logs the 1st, 2nd, 4th… and retries until it succeeds', async () => {
  const { logger, lines } = capture()
  const failures = new BackgroundFailures()
  let runs = 0
  const loop = new BackgroundLoop(async () => {
    runs++
    if (runs <= 9) throw new Error(`dependency down (${runs})`)
  }, { name: 'test-loop', everyMs: 5, runAtStart: true, logger, failures }).start()
  await waitFor(() => runs >= 10, 5_000, 'ten runs')
  await loop.stop()
  expect(failures.get('test-loop')).toBe(9)
  expect(lines.filter((l) => l.msg === 'background task failed; will retry').map((l) => l.failures)).toEqual([1, 2, 4, 8])
  expect(lines.some((l) => l.msg === 'background task recovered')).toBe(true)
})

it('retries sooner after a failure (retryMs, doubling) than its period, and stop waits for the run under way', async () => {
  const { logger } = capture()
  const failures = new BackgroundFailures()
  const started: number[] = []
  let release = (): void => {}
  const loop = new BackgroundLoop(async () => {
    started.push(Date.now())
    if (started.length === 1) throw new Error('first run fails')
    if (started.length === 2) await new Promise<void>((resolve) => { release = resolve })
  }, { name: 'slow', everyMs: 60_000, retryMs: 10, runAtStart: true, logger, failures }).start()
  await waitFor(() => started.length === 2, 5_000, 'the retry, long before the 60 s period')
  let stopped = false
  const stopping = loop.stop().then(() => { stopped = true })
  await Promise.resolve()
  expect(stopped).toBe(false) // the second run is still under way
  release()
  await stopping
  expect(started).toHaveLength(2)
})
