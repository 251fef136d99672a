/**
 * Log lines for a person at a terminal: one line per event, `time LEVEL message key=value …`.
 * pino still builds (and redacts) each event as JSON; this destination turns that JSON into the
 * line, so what is logged, and what is hidden, is the same in both formats.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' }
/** Fields every event has, shown in their own places (or not at all). */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname'])
/** Nested objects are shown as dotted keys this deep, then as JSON. */
const MAX_DEPTH = 2

export interface LineWriter {
  write(text: string): unknown
}

/** Requests seen arriving and not yet completed, at most (older ones are forgotten). */
const MAX_OPEN_REQUESTS = 10_000

/**
 * A pino destination that writes pretty lines to `out` (colours for terminals). A request is one
 * line, `METHOD url status time`, written when it completes (Fastify logs it twice: arriving
 * and completed; JSON keeps both).
 */
export function prettyDestination(out: LineWriter, options: { color: boolean }): LineWriter {
  const open = new Map<string, { method: string; url: string }>()
  return {
    write(json: string): boolean {
      const line = requestLine(json, open, options.color)
      if (line !== '') out.write(`${line ?? prettyLine(json, options.color)}\n`)
      return true
    },
  }
}

/** '' for an arriving request (held until it completes), its one line once it completes, else null. */
function requestLine(json: string, open: Map<string, { method: string; url: string }>, color: boolean): string | null {
  if (!json.includes('"reqId"')) return null
  let event: { msg?: unknown; reqId?: unknown; req?: { method?: unknown; url?: unknown }; res?: { statusCode?: unknown }; responseTime?: unknown }
  try {
    event = JSON.parse(json) as typeof event
  } catch {
    return null
  }
  const id = String(event.reqId)
  if (event.msg === 'incoming request' && event.req) {
    if (open.size >= MAX_OPEN_REQUESTS) open.delete(open.keys().next().value as string)
    open.set(id, { method: String(event.req.method), url: String(event.req.url) })
    return ''
  }
  const arrived = open.get(id)
  if (event.msg !== 'request completed' || !arrived) return null
  open.delete(id)
  const ms = typeof event.responseTime === 'number' ? `${event.responseTime.toFixed(1)} ms` : ''
  const { msg: _msg, res: _res, responseTime: _time, ...rest } = event as Record<string, unknown>
  return prettyLine(JSON.stringify({ ...rest, msg: `${arrived.method} ${arrived.url} ${String(event.res?.statusCode ?? '')} ${ms}`.trimEnd() }), color)
}

/** One pino JSON event as one line; anything that is not JSON passes through as it is. */
export function prettyLine(json: string, color = false): string {
  let event: Record<string, unknown>
  try {
    event = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json.trimEnd()
  }
  const level = typeof event.level === 'number' ? event.level : 30
  const name = (LEVELS[level] ?? String(level)).padEnd(5)
  const parts = [clock(event.time), color ? `\u001b[${COLORS[level] ?? '0'}m${name}\u001b[0m` : name]
  if (typeof event.msg === 'string' && event.msg !== '') parts.push(oneLine(event.msg))
  for (const [key, value] of Object.entries(event)) {
    if (!OMITTED.has(key)) parts.push(...fields(key, value, 1))
  }
  return parts.join(' ')
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date()
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0')
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
}

function fields(key: string, value: unknown, depth: number): string[] {
  if (value === undefined) return []
  if (key === 'err' || key === 'error') return [`${key}=${quote(errorText(value))}`]
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < MAX_DEPTH) {
    return Object.entries(value).flatMap(([inner, v]) => fields(`${key}.${inner}`, v, depth + 1))
  }
  return [`${key}=${typeof value === 'string' ? quote(value) : JSON.stringify(value)}`]
}

/** `Type: message (at the first stack frame)`: enough to find it, on the one line. */
function errorText(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value)
  const error = value as { type?: unknown; message?: unknown; stack?: unknown }
  const where = typeof error.stack === 'string' ? /\n\s+at (.+)/.exec(error.stack)?.[1] : undefined
  return `${String(error.type ?? 'Error')}: ${String(error.message ?? '')}${where ? ` (at ${where})` : ''}`
}

/** Bare when it is one plain word, else JSON-quoted (which also escapes newlines). */
function quote(text: string): string {
  return /^[\w./:@+-]+$/.test(text) ? text : JSON.stringify(text)
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}
