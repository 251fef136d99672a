/** A worker for channel tests: answers each request with the thread that answered it. */
import { parentPort, threadId } from 'node:worker_threads'
import { serveRequests } from '../../server/collab/workers/worker-channel.ts'

serveRequests(parentPort!, (request: { n: number }) => ({ value: { n: request.n, threadId } }))
