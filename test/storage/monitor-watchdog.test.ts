/**
 * The MongoDB monitor watchdog. The driver bug it guards against (a heartbeat whose write waits
 * forever on a socket already destroyed) is a race inside the driver that no test can trigger on
 * purpose, so a stuck heartbeat is stood in for by the driver's own public event with no end;
 * everything else is real: a MongoDB-wire server stopped and started, the client's real monitor.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MongoClient } from 'mongodb'
import pino from 'pino'
import { BackgroundFailures } from '../../server/background-loop.ts'
import { MonitorWatchdog, PendingHeartbeats } from '../../server/storage/mongo/monitor-watchdog.ts'
import { startMongoWire, type MongoWire } from '../helpers/mongo-wire.ts'
import { waitFor } from '../helpers/wait.ts'

const LIMIT_MS = 3_000

describe('PendingHeartbeats', () => {
  it('names the servers whose heartbeat started longer ago than the limit and has not ended', () => {
    const pending = new PendingHeartbeats()
    pending.started('a:1', 0)
    pending.started('b:2', 500)
    pending.started('c:3', 100)
    pending.ended('c:3')
    expect(pending.stuck(1_000, 1_000)).toEqual([])
    expect(pending.stuck(1_001, 1_000)).toEqual(['a:1'])
    expect(pending.stuck(1_501, 1_000)).toEqual(['a:1', 'b:2'])
    pending.started('a:1', 1_400) // the next heartbeat of a: it is not stuck
    expect(pending.stuck(1_501, 1_000)).toEqual(['b:2'])
    pending.clear()
    expect(pending.stuck(10_000, 1_000)).toEqual([])
  })
})

describe('MonitorWatchdog', () => {
  let mongo: MongoWire | undefined
  let client: MongoClient | undefined

  afterEach(async () => {
    await client?.close()
    await mongo?.destroy()
    client = undefined
    mongo = undefined
  })

  async function connected(): Promise<{ client: MongoClient, watchdog: MonitorWatchdog, failures: BackgroundFailures, heartbeats: () => number }> {
    mongo = await startMongoWire()
    client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000, socketTimeoutMS: 1_000, heartbeatFrequencyMS: 500 })
    let succeeded = 0
    client.on('serverHeartbeatSucceeded', () => { succeeded++ })
    const failures = new BackgroundFailures()
    const watchdog = new MonitorWatchdog(client, { heartbeatLimitMs: LIMIT_MS, everyMs: 60_000, logger: pino({ level: 'silent' }), failures })
    await client.connect()
    return { client, watchdog, failures, heartbeats: () => succeeded }
  }

  it('leaves a client alone while its heartbeats end', async () => {
    const { watchdog, heartbeats } = await connected()
    await waitFor(() => heartbeats() >= 3, 10_000, 'three heartbeats')
    await watchdog.check(Date.now() + LIMIT_MS - 100)
    expect(watchdog.restarts).toBe(0)
  })

  it('reconnects a client whose heartbeat never ends, and the same Db keeps working', async () => {
    const { client, watchdog, failures, heartbeats } = await connected()
    const db = client.db('watchdog')
    await db.collection('things').insertOne({ n: 1 })
    client.emit('serverHeartbeatStarted', { connectionId: 'stuck:1' } as never)
    await watchdog.check(Date.now() + LIMIT_MS + 1)
    expect(watchdog.restarts).toBe(1)
    expect(failures.get('mongodb-monitor-stuck')).toBe(1)
    expect(await db.collection('things').countDocuments()).toBe(1)
    const before = heartbeats()
    await waitFor(() => heartbeats() > before, 10_000, 'the new monitor beats')
    await watchdog.check(Date.now())
    expect(watchdog.restarts).toBe(1) // the stuck heartbeat went with the old topology
  })

  it('keeps trying to connect while MongoDB is down and recovers when it returns', async () => {
    const { client, watchdog } = await connected()
    const db = client.db('watchdog')
    client.emit('serverHeartbeatStarted', { connectionId: 'stuck:1' } as never)
    await mongo!.stop()
    await expect(watchdog.check(Date.now() + LIMIT_MS + 1)).rejects.toThrow()
    await expect(watchdog.check(Date.now() + LIMIT_MS + 1)).rejects.toThrow()
    expect(watchdog.restarts).toBe(1) // one reconnect, retried; not a new one per look
    await mongo!.start()
    await waitFor(async () => { await watchdog.check(Date.now()); return true }, 20_000, 'the client connected again')
    await db.collection('things').insertOne({ n: 2 })
    expect(await db.collection('things').countDocuments()).toBe(1)
  })
})
