/**
 * An idle worker thread is let go (an idle node gives its heap and isolate back) only when its
 * owner holds nothing in it, and the next call starts a new one without telling anyone of a
 * restart. Real worker threads.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WorkerChannel } from '../../server/collab/workers/worker-channel.ts'
import { waitFor } from '../helpers/wait.ts'

const WORKER = new URL('../helpers/thread-id-worker.ts', import.meta.url)
const RETIRE_MS = 150
type Answer = { n: number; threadId: number }

let channel: WorkerChannel<{ n: number }> | undefined
afterEach(async () => {
  await channel?.close()
  channel = undefined
})

describe('worker retirement', () => {
  it('lets an idle thread go, and the next call gets a new one; no restart is announced', async () => {
    channel = new WorkerChannel<{ n: number }>(WORKER, { retireAfterMs: RETIRE_MS, canRetire: () => true })
    let restarts = 0
    channel.onRestart(() => restarts++)
    const first = await channel.call<Answer>({ n: 1 })
    expect(await channel.heapUsed()).not.toBeNull()
    await waitFor(async () => (await channel!.heapUsed()) === null, 5_000, 'the idle thread to go')
    const second = await channel.call<Answer>({ n: 2 })
    expect(second.n).toBe(2)
    expect(second.threadId).not.toBe(first.threadId)
    expect(restarts).toBe(0)
  })

  it('keeps a thread its owner still holds something in, and lets it go once the owner does', async () => {
    let holding = true
    channel = new WorkerChannel<{ n: number }>(WORKER, { retireAfterMs: RETIRE_MS, canRetire: () => !holding })
    const first = await channel.call<Answer>({ n: 1 })
    // Longer than the retirement delay several times over: the owner's answer keeps the thread.
    await new Promise((resolve) => setTimeout(resolve, 4 * RETIRE_MS))
    expect((await channel.call<Answer>({ n: 2 })).threadId).toBe(first.threadId)
    holding = false
    await waitFor(async () => (await channel!.heapUsed()) === null, 5_000, 'the idle thread to go')
  })
})
