/**
 * Lean load in one generator process: writers send precomputed edits at a steady rate, readers
 * match each delivered update to its send time by client id and clock, without applying it.
 * Writers and readers of a room live in the same process, so latency uses one clock.
 */
import { LatencyHistogram } from '../histogram.ts'
import type { LeanJob, LeanResult, LeanRoom } from '../jobs.ts'
import { isStep2, openingFrames } from '../raw-sync.ts'
import { readUpdateRanges } from './update-ranges.ts'
import { firstFrameAtOrAfter, makeWriterFrames, type WriterFrames } from './writer-frames.ts'
import { clientFrame, WireSocket, type MessageSink } from './ws-wire.ts'

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024
const HANDSHAKE_TIMEOUT_MS = 60_000
/** Frames made beyond what the rate needs, so timer catch-up never runs a writer dry. */
const FRAME_SLACK = 1.1
/** After the last send, wait for deliveries until none has arrived for this long. */
const DRAIN_QUIET_MS = 2_000
const TICK_MS = 1

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Writer {
  frames: WriterFrames
  /** Position among its room's writers (index into each reader's cursors). */
  slot: number
  socket: WireSocket | null
  /** performance.now() when frame i was written; NaN until then. */
  sentAt: Float64Array
  sent: number
  /** Frames the rate asked for so far (more than `frames.count` means it ran dry). */
  due: number
}

interface Room {
  writers: Map<number, Writer>
  readers: WireSocket[]
}

interface Window {
  start: number
  end: number
}

export class LeanLoad {
  private readonly job: LeanJob
  private readonly prefixed: boolean
  private readonly rooms: Room[] = []
  private readonly writers: Writer[] = []
  private readonly histogram = new LatencyHistogram()
  private readonly window: Window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY }
  private readonly closes: string[] = []
  private deliveries = 0
  private frames = 0
  private received = 0
  private lastReceivedAt = 0
  private stopping = false

  constructor(job: LeanJob) {
    this.job = job
    this.prefixed = job.target.name === 'hocuspocus'
  }

  /** Makes every writer's frames, then opens readers and writers and completes their sync. */
  async prepare(): Promise<void> {
    const totalMs = this.job.warmupMs + this.job.durationMs
    const framesPerWriter = Math.ceil((this.job.rate * totalMs / 1000) * FRAME_SLACK) + 10
    for (const spec of this.job.rooms) {
      const room: Room = { writers: new Map(), readers: [] }
      spec.writers.forEach((client, slot) => {
        const frames = makeWriterFrames(client, framesPerWriter, this.job.author, this.prefixed ? spec.name : undefined)
        const writer: Writer = { frames, slot, socket: null, sentAt: new Float64Array(frames.count).fill(Number.NaN), sent: 0, due: 0 }
        room.writers.set(client, writer)
        this.writers.push(writer)
      })
      this.rooms.push(room)
    }
    await Promise.all(this.job.rooms.map((spec, r) => this.openReaders(spec, this.rooms[r]!)))
    await Promise.all(this.job.rooms.map((spec, r) => Promise.all([...this.rooms[r]!.writers.values()].map(async (writer) => {
      writer.socket = await this.open(spec.name, () => {})
    }))))
  }

  private async openReaders(spec: LeanRoom, room: Room): Promise<void> {
    for (let i = 0; i < this.job.readersPerRoom; i++) {
      const cursors = new Float64Array(spec.writers.length)
      room.readers.push(await this.open(spec.name, this.readerSink(room, cursors)))
    }
  }

  /** Opens a socket and waits until the server has it in the room (its answer to sync step 1). */
  private async open(roomName: string, sink: MessageSink): Promise<WireSocket> {
    const { target } = this.job
    const url = target.name === 'ours' ? `${target.wsBase}/${roomName}?token=${encodeURIComponent(target.token ?? '')}` : `${target.wsBase}/${roomName}`
    let synced: () => void = () => {}
    const inRoom = new Promise<void>((resolve) => { synced = resolve })
    let onMessage: MessageSink = (bytes, start, end) => {
      if (!isStep2(target, bytes.subarray(start, end))) return
      onMessage = sink
      synced()
    }
    const socket = await WireSocket.open(url, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      onMessage: (bytes, start, end, at) => onMessage(bytes, start, end, at),
      onClose: (reason) => { if (!this.stopping) this.closes.push(reason) },
    })
    if (target.name === 'raw-ws') {
      onMessage = sink // no protocol: in the room once open
      return socket
    }
    for (const frame of openingFrames(target, roomName)) socket.writeFrames(clientFrame(frame))
    const timeout = sleep(HANDSHAKE_TIMEOUT_MS).then(() => { throw new Error(`no sync step 2 from ${target.name} in ${HANDSHAKE_TIMEOUT_MS} ms`) })
    await Promise.race([inRoom, timeout])
    return socket
  }

  /** Credits each delivered edit once per reader, in order, by its writer's client id and clock. */
  private readerSink(room: Room, cursors: Float64Array): MessageSink {
    let at = 0
    const credit = (client: number, from: number, to: number): void => {
      const writer = room.writers.get(client)
      if (!writer) return
      const { frames, sentAt } = writer
      let i = Math.max(cursors[writer.slot]!, firstFrameAtOrAfter(frames, from))
      for (; i < frames.count && frames.clocks[i]! < to; i++) {
        const t = sentAt[i]!
        this.received++
        if (t >= this.window.start && t < this.window.end) {
          this.deliveries++
          this.histogram.add(at - t)
        }
      }
      cursors[writer.slot] = Math.max(cursors[writer.slot]!, i)
    }
    return (bytes, start, end, receivedAt) => {
      at = receivedAt
      this.lastReceivedAt = receivedAt
      const isUpdate = readUpdateRanges(bytes, start, end, this.prefixed, credit)
      if (isUpdate && receivedAt >= this.window.start && receivedAt < this.window.end) this.frames++
    }
  }

  /** Sends at the job's rate through warm-up and the measured window, then waits for deliveries. */
  async run(): Promise<LeanResult> {
    const started = performance.now()
    this.window.start = started + this.job.warmupMs
    this.window.end = this.window.start + this.job.durationMs
    let edits = 0
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        edits += this.tick(started)
        if (performance.now() < this.window.end) return
        clearInterval(timer)
        resolve()
      }, TICK_MS)
    })
    await this.drain()
    this.stopping = true
    for (const room of this.rooms) for (const reader of room.readers) reader.destroy()
    for (const writer of this.writers) writer.socket?.destroy()
    return {
      edits,
      expectedDeliveries: edits * this.job.readersPerRoom,
      deliveries: this.deliveries,
      frames: this.frames,
      latencyCounts: this.histogram.counts,
      latencyMax: this.histogram.max,
      seconds: this.job.durationMs / 1000,
      closes: this.closes,
      starved: this.writers.reduce((sum, w) => sum + Math.max(0, w.due - w.frames.count), 0),
    }
  }

  /**
   * Writes every frame now due, one socket write per writer; returns how many fell in the
   * window. Writers are spread over the period, not all due at the same instant.
   */
  private tick(started: number): number {
    const now = performance.now()
    const inWindow = now >= this.window.start && now < this.window.end
    let counted = 0
    this.writers.forEach((writer, w) => {
      const due = Math.floor(((now - started) / 1000) * this.job.rate + w / this.writers.length)
      writer.due = due
      const upTo = Math.min(due, writer.frames.count)
      if (upTo <= writer.sent) return
      const { offsets, wire } = writer.frames
      writer.socket!.writeFrames(wire.subarray(offsets[writer.sent]!, offsets[upTo]!))
      writer.sentAt.fill(now, writer.sent, upTo)
      if (inWindow) counted += upTo - writer.sent
      writer.sent = upTo
    })
    return counted
  }

  /** Until every sent edit reached every reader, or nothing arrived for DRAIN_QUIET_MS. */
  private async drain(): Promise<void> {
    const owed = this.writers.reduce((sum, w) => sum + w.sent, 0) * this.job.readersPerRoom
    this.lastReceivedAt = performance.now()
    while (this.received < owed && performance.now() - this.lastReceivedAt < DRAIN_QUIET_MS) await sleep(10)
  }
}
