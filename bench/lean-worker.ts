/**
 * A lean load-generator process: takes one job over IPC, makes its frames and opens its sockets,
 * reports ready, and starts sending when told to go (so several processes start together). The
 * parent pins it to the load core and watches its CPU.
 */
import type { LeanParentMessage, LeanWorkerMessage } from './lib/jobs.ts'
import { LeanLoad } from './lib/lean/lean-load.ts'

const send = (message: LeanWorkerMessage): void => void process.send?.(message)
let load: LeanLoad | null = null

process.on('message', (message: LeanParentMessage) => {
  if (message.type === 'job') {
    load = new LeanLoad(message.job)
    load.prepare().then(() => send({ type: 'ready' }), fail)
  } else {
    load?.run().then((result) => send({ type: 'result', result }), fail)
  }
})

function fail(error: unknown): void {
  send({ type: 'error', message: String((error as Error)?.stack ?? error) })
}
