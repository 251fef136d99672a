/**
 * Environment → one typed, validated config object. Parsed once at start; a bad value fails
 * fast with a message naming the variable. Nothing else in the server reads `process.env`.
 *
 * `SETTINGS` is also the source of the README's configuration table and `.env.example`
 * (a test keeps them in step).
 */
import { isIP } from 'node:net'
import path from 'node:path'
import { CURRENT_GENERATION } from './cluster/wire-format.ts'
import { parseRetention } from './history/retention.ts'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Parser<T> = (raw: string, name: string) => T

interface Setting<T> {
  env: string
  description: string
  parse: Parser<T>
  /** Used when the variable is unset or empty; `undefined` means optional-without-default. */
  fallback: T
}

const MIB = 1024 * 1024

/** The placeholder `.env.example` ships with; production refuses it like a missing secret. */
export const EXAMPLE_JWT_SECRET = 'replace-me-with-48-random-bytes-base64-openssl-rand-base64-48'

function integer(min: number, max: number): Parser<number> {
  return (raw, name) => {
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(`${name} must be an integer in ${min}..${max}, got "${raw}"`)
    }
    return value
  }
}

const text: Parser<string> = (raw) => raw

function oneOf<const T extends string>(...values: T[]): Parser<T> {
  return (raw, name) => {
    if (!(values as string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${raw}"`)
    return raw as T
  }
}

const boolean: Parser<boolean> = (raw, name) => {
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function url(...protocols: string[]): Parser<string> {
  return (raw, name) => {
    let parsed: URL
    try {
      parsed = new URL(raw)
    } catch {
      // Not echoed: a connection string carries its password.
      throw new ConfigError(`${name} must be a URL (the value is not shown: it may hold a password)`)
    }
    if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must use ${protocols.join(' or ')}`)
    return raw
  }
}

const list: Parser<string[]> = (raw) => raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0)

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A duration such as `7d`, `12h` or `90s` (units ms, s, m, h, d), in ms; NaN when it is not one. */
export function durationMs(raw: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(raw.trim())
  return match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : Number.NaN
}

/** Kept as written (the README shows it); `durationMs` reads it. */
function duration(minMs: number, maxMs: number): Parser<string> {
  return (raw, name) => {
    const value = durationMs(raw)
    if (!(value >= minMs && value <= maxMs)) throw new ConfigError(`${name} must be a duration like 7d, 12h or 90s between ${minMs} ms and ${maxMs} ms, got "${raw}"`)
    return raw.trim()
  }
}

function urlList(...protocols: string[]): Parser<string[]> {
  return (raw, name) => {
    const urls = list(raw, name)
    if (urls.length === 0) throw new ConfigError(`${name} must list at least one URL`)
    for (const entry of urls) url(...protocols)(entry, name)
    return urls
  }
}

const waitReplicas: Parser<number | 'auto'> = (raw, name) => (raw === 'auto' ? 'auto' : integer(0, 5)(raw, name))

/** Whose X-Forwarded-For to believe: nobody (false), the nearest N proxies, or these addresses. */
export type ProxyTrust = false | number | string[]

/** Kept as written (the README shows it); history parses it with the same rule. */
const retention: Parser<string> = (raw, name) => {
  try {
    parseRetention(raw)
    return raw
  } catch (error) {
    throw new ConfigError(`${name} ${(error as Error).message}, got "${raw}"`)
  }
}

const proxyTrust: Parser<ProxyTrust> = (raw, name) => {
  const value = raw.trim().toLowerCase()
  if (['0', 'false', 'no'].includes(value)) return false
  if (['true', 'yes'].includes(value)) {
    throw new ConfigError(`${name}=true would let any client choose its address with X-Forwarded-For; give the balancer's address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/24), or the number of proxies in front (e.g. 1)`)
  }
  if (/^\d+$/.test(value)) return integer(1, 10)(value, name)
  const entries = list(raw, name)
  for (const entry of entries) {
    if (!isAddressOrCidr(entry)) throw new ConfigError(`${name} must be false, a hop count, or IP addresses / CIDRs, got "${entry}"`)
  }
  return entries
}

function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/')
  const version = isIP(address)
  if (version === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  const bits = Number(prefix)
  return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128)
}

function setting<T>(env: string, description: string, parse: Parser<T>, fallback: T): Setting<T> {
  return { env, description, parse, fallback }
}

export const SETTINGS = {
  nodeEnv: setting('NODE_ENV', 'development, production or test; production enforces secrets', oneOf('development', 'production', 'test'), 'development' as 'development' | 'production' | 'test'),
  host: setting('HOST', 'Interface to listen on', text, '0.0.0.0'),
  port: setting('PORT', 'Port for HTTP and WebSocket (0 = any free port)', integer(0, 65535), 8080),
  dataDir: setting('DATA_DIR', 'Directory of the embedded store (LevelDB) and the dev JWT secret', text, './data'),
  logLevel: setting('LOG_LEVEL', 'pino level: fatal, error, warn, info, debug, trace, silent', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'info' as string),
  logFormat: setting('LOG_FORMAT', 'auto, pretty or json: pretty is one readable line per event; auto = pretty when stdout is a terminal, else JSON lines', oneOf('auto', 'pretty', 'json'), 'auto' as 'auto' | 'pretty' | 'json'),
  mongodbUrl: setting('MONGODB_URL', 'MongoDB connection string; unset = embedded store', url('mongodb:', 'mongodb+srv:'), undefined as string | undefined),
  mongodbDb: setting('MONGODB_DB', 'MongoDB database name', text, 'collab'),
  mongodbTimeoutMs: setting('MONGODB_TIMEOUT_MS', 'How long a MongoDB operation waits for a reachable server before failing; MongoDB is pinged every second and counts as down when a ping takes longer', integer(100, 120_000), 5_000),
  redisUrl: setting('REDIS_URL', 'Redis URL; set it to run several nodes (requires MONGODB_URL)', url('redis:', 'rediss:'), undefined as string | undefined),
  redisClusterNodes: setting('REDIS_CLUSTER_NODES', 'Seed nodes of a Redis Cluster, comma-separated (redis://h1:7000,redis://h2:7001); instead of REDIS_URL, requires MONGODB_URL', urlList('redis:', 'rediss:'), undefined as string[] | undefined),
  redisClusterBuckets: setting('REDIS_CLUSTER_BUCKETS', 'On a Redis Cluster, rooms are spread over this many hash-tag buckets, each in its own slot; a node holds one blocking read connection per bucket it follows (at most this many). Every node of a deployment must use the same value', integer(1, 1024), 16),
  redisWaitReplicas: setting('REDIS_WAIT_REPLICAS', 'An update is acknowledged only once this many replicas of its Redis master hold it (WAIT), so a failover loses nothing acknowledged; auto = 1 on a Redis Cluster when the master has a replica, else 0', waitReplicas, 'auto' as number | 'auto'),
  redisPrefix: setting('REDIS_PREFIX', 'Prefix of every Redis key and channel (several deployments can share a Redis)', text, 'collab:'),
  redisTimeoutMs: setting('REDIS_TIMEOUT_MS', 'A Redis command, or the liveness PING each connection gets every second, not answered within this fails; Redis then counts as down (writes refused, /readyz 503)', integer(100, 120_000), 5_000),
  redisMinEntryAgeMs: setting('REDIS_MIN_ENTRY_AGE_MS', 'Compaction never trims stream entries younger than this (lets lagging nodes catch up)', integer(0, 3_600_000), 60_000),
  wireFormatCeiling: setting('WIRE_FORMAT_CEILING', 'Tests and upgrade rehearsals only: the node acts as the release of this wire generation (1 = the releases before the format registry), reading and writing only its formats between nodes. Leave unset in production (= this release\'s newest)', integer(1, CURRENT_GENERATION), CURRENT_GENERATION),
  jwtSecret: setting('JWT_SECRET', 'HS256 signing secret, at least 32 characters; required in production', text, undefined as string | undefined),
  jwtIssuer: setting('JWT_ISSUER', 'JWT `iss` claim issued and required', text, 'collab-server'),
  jwtAudience: setting('JWT_AUDIENCE', 'JWT `aud` claim issued and required', text, 'collab-clients'),
  accessTokenTtlSec: setting('ACCESS_TOKEN_TTL_SEC', 'Access token lifetime in seconds', integer(60, 86_400), 900),
  refreshTokenTtlSec: setting('REFRESH_TOKEN_TTL_SEC', 'Refresh token lifetime in seconds', integer(300, 90 * 86_400), 30 * 86_400),
  authRateLimitPerMinute: setting('AUTH_RATE_LIMIT_PER_MINUTE', 'Requests per minute per client address to /auth routes', integer(1, 100_000), 30),
  messageRateLimitPerMinute: setting('MESSAGE_RATE_LIMIT_PER_MINUTE', 'REST chat posts (POST /groups/:id/messages) per minute per user; more get 429', integer(1, 100_000), 60),
  inviteAcceptRateLimitPerMinute: setting('INVITE_ACCEPT_RATE_LIMIT_PER_MINUTE', 'Invite accepts per minute per client address; more get 429', integer(1, 100_000), 20),
  maxGroupsPerUser: setting('MAX_GROUPS_PER_USER', 'Groups a user may belong to, owned or joined; creating or joining more gets 409 `quota_exceeded`', integer(1, 100_000), 100),
  versionWritesPerHour: setting('VERSION_WRITES_PER_HOUR', 'Versions a user may name or restore (each stores a whole copy of the document) per hour; more get 429', integer(1, 100_000), 60),
  versionWriteBytesPerHour: setting('VERSION_WRITE_BYTES_PER_HOUR', 'Bytes of document copies a user may store per hour by naming, restoring and rolling back (each keeps a whole copy, charged its size; the first copy of an hour always fits); more get 429', integer(64 * 1024, 1024 * 1024 * MIB), 256 * MIB),
  historyViewsPerMinute: setting('HISTORY_VIEWS_PER_MINUTE', 'Versions one user\'s history views (pictures, message pages, diffs) may build per minute in the worker every room shares; views of versions it still holds are free; past it, 429', integer(1, 100_000), 60),
  maxNamedVersionsPerDoc: setting('MAX_NAMED_VERSIONS_PER_DOC', 'Named versions a document keeps (they are kept forever, each a whole copy); naming more gets 409 `quota_exceeded`', integer(1, 100_000), 500),
  maxNamedVersionBytesPerDoc: setting('MAX_NAMED_VERSION_BYTES_PER_DOC', 'Bytes a document\'s named versions keep in all (a copy several share counts once; states kept before restores and rollbacks count, and are kept even past it); naming one that would pass it gets 409 `quota_exceeded`. At least MAX_DOC_BYTES', integer(64 * 1024, 1024 * 1024 * MIB), 1280 * MIB),
  canvasRenderBytesPerMinute: setting('CANVAS_RENDER_BYTES_PER_MINUTE', 'Canvas bytes one user\'s GET canvas.svg may have the doc worker render per minute (each render charged the canvas\'s size; a picture still cached is free; one render may overdraw, then the debt is paid back); past it, 429', integer(64 * 1024, 1024 * 1024 * MIB), 16 * MIB),
  maxInvitesPerGroup: setting('MAX_INVITES_PER_GROUP', 'Live invites (unexpired, uses left) per group; creating more gets 409 `quota_exceeded`', integer(1, 100_000), 100),
  revocationDeadlineMs: setting('REVOCATION_DEADLINE_MS', 'Longest a removed or downgraded member keeps access on any node if the change event was lost: open sockets are re-checked against storage at least this often (ACCESS_CACHE_TTL_MS may not exceed it)', integer(1_000, 3_600_000), 60_000),
  accessCacheTtlMs: setting('ACCESS_CACHE_TTL_MS', 'Longest a cached membership lookup is trusted (changes invalidate at once)', integer(0, 3_600_000), 60_000),
  metricsToken: setting('METRICS_TOKEN', 'If set, GET /metrics requires `Authorization: Bearer <token>`; required in production unless METRICS_PUBLIC', text, undefined as string | undefined),
  metricsPublic: setting('METRICS_PUBLIC', 'Serve /metrics to anyone in production without METRICS_TOKEN (say so explicitly)', boolean, false),
  corsOrigins: setting('CORS_ORIGINS', 'Comma-separated allowed origins for REST (empty = same origin only)', list, [] as string[]),
  trustProxy: setting('TRUST_PROXY', 'Whose X-Forwarded-For to believe: `false`, the balancer\'s addresses or CIDRs (comma-separated), or the number of proxies in front (`1`); `true` is refused (clients could choose their address)', proxyTrust, false as ProxyTrust),
  maxConnectionsPerAddress: setting('MAX_CONNECTIONS_PER_ADDRESS', 'Open TCP connections (HTTP and WebSocket) per peer address, IPv6 per /64; more are closed at once. A proxy TRUST_PROXY names is not counted: its clients\' WebSockets are, per forwarded address (more get 429) (0 = no cap)', integer(0, 1_000_000), 256),
  httpHeadersTimeoutMs: setting('HTTP_HEADERS_TIMEOUT_MS', 'Longest a client may take to send request headers, from connecting or its first byte; then 408 and closed', integer(100, 600_000), 10_000),
  httpRequestTimeoutMs: setting('HTTP_REQUEST_TIMEOUT_MS', 'Longest a client may take to send a whole request, headers and body; then 408 and closed', integer(100, 3_600_000), 30_000),
  httpKeepAliveTimeoutMs: setting('HTTP_KEEPALIVE_TIMEOUT_MS', 'How long an idle keep-alive connection waits for its next request (keep above the balancer\'s idle timeout)', integer(100, 600_000), 72_000),
  httpIdleTimeoutMs: setting('HTTP_IDLE_TIMEOUT_MS', 'An HTTP connection with nothing sent or received this long is closed (not WebSockets: pings watch those)', integer(1_000, 3_600_000), 120_000),
  maxPayloadBytes: setting('MAX_PAYLOAD_BYTES', 'Largest WebSocket frame accepted; bigger frames close with 1009', integer(1024, 256 * MIB), 8 * MIB),
  maxBodyBytes: setting('MAX_BODY_BYTES', 'Largest REST request body; bigger bodies get 413', integer(1024, 16 * MIB), 64 * 1024),
  maxBufferedBytes: setting('MAX_BUFFERED_BYTES', 'Outgoing bytes a socket may have queued before it is dropped as too slow', integer(64 * 1024, 1024 * MIB), 16 * MIB),
  maxDocBytes: setting('MAX_DOC_BYTES', 'Largest encoded size of one document; updates that would grow it further are refused (close 4413)', integer(64 * 1024, 4096 * MIB), 64 * MIB),
  writeUpdatesPerMinute: setting('WRITE_UPDATES_PER_MINUTE', 'Updates one user may write into one document per minute, however small (bursts up to this; a client drawing sends one per frame, ~60 a second, and resends its offline edits as one); more closes the socket with 4529, and the client resends after reconnecting', integer(60, 10_000_000), 6_000),
  writeBytesPerMinute: setting('WRITE_BYTES_PER_MINUTE', 'Update bytes one user may write into one document per minute (bursts up to this); more closes the socket with 4529, and the client resends after reconnecting', integer(1024, 4096 * MIB), 16 * MIB),
  chatMessageBurst: setting('CHAT_MESSAGE_BURST', 'Chat messages one user may post (or delete) in one chat at once, refilled at CHAT_MESSAGES_PER_MINUTE; a full budget pays for up to 5 times this in one write (a long offline session resent at once), then is paid back. A write the budget cannot pay closes the socket with 4529, nothing of it taken (REST: 429): each message is an event in the change feed and a webhook delivery', integer(1, 1_000_000), 200),
  chatMessagesPerMinute: setting('CHAT_MESSAGES_PER_MINUTE', 'Chat messages one user may post into one chat per minute, after the burst', integer(1, 1_000_000), 60),
  offlineWindowMs: setting('OFFLINE_WINDOW_MS', 'How old a chat message\'s time may be when it arrives (messages written offline arrive late); older ones are refused (close 4422)', integer(60_000, 365 * 86_400_000), 7 * 86_400_000),
  maxPresenceStateBytes: setting('MAX_PRESENCE_STATE_BYTES', 'Largest presence (awareness) state of one client, as JSON; bigger frames close with 1007', integer(256, 1 * MIB), 16 * 1024),
  presenceMessagesPerSecond: setting('PRESENCE_MESSAGES_PER_SECOND', 'Presence changes a socket may make per second (bursts of twice that; one user\'s sockets in a document together three times that); more close it with 4429', integer(1, 10_000), 60),
  presenceBytesPerSecond: setting('PRESENCE_BYTES_PER_SECOND', 'Presence bytes a socket may change per second (bursts of four times that; one user\'s sockets in a document together three times that); more close it with 4429', integer(1024, 64 * MIB), 64 * 1024),
  syncBytesPerMinute: setting('SYNC_BYTES_PER_MINUTE', 'Bytes of sync and presence answers (diffed or merged, and sent) a socket may cost per minute after its first sync; one user\'s sockets in a document together three times that, first syncs included (a first sync is answered while the user\'s debt is at most two answers of its size, and one of 64 KiB or less always, so reloads and a reconnect after a flap are answered); more close it with 4429 (a first sync past the debt: 1013, retried)', integer(64 * 1024, 4096 * MIB), 32 * MIB),
  maxSvgBytes: setting('MAX_SVG_BYTES', 'Largest canvas.svg the server renders; a bigger picture gets 413', integer(64 * 1024, 1024 * MIB), 8 * MIB),
  versionIntervalMs: setting('VERSION_INTERVAL_MS', 'A document that changed gets an automatic version (at compaction) when its last one is older than this', integer(1_000, 30 * 86_400_000), 10 * 60_000),
  versionRetention: setting('VERSION_RETENTION', 'Automatic versions kept: every one younger than the first age, then the newest per hour until the second, then the newest per day ("1d,30d"; units ms, s, m, h, d). Named versions are kept forever', retention, '1d,30d'),
  pingIntervalMs: setting('PING_INTERVAL_MS', 'WebSocket ping interval; a socket missing one pong is closed', integer(100, 600_000), 30_000),
  roomGraceMs: setting('ROOM_GRACE_MS', 'How long an empty room stays in memory before eviction (a join during its final compaction takes the room back)', integer(0, 3_600_000), 10_000),
  heldUpdateMaxAgeMs: setting('HELD_UPDATE_MAX_AGE_MS', 'Longest an update waits for content the room lacks (its dependencies, or another user\'s content this node has not read yet); then a resend is declined and any other update closes its socket (1008)', integer(1_000, 600_000), 30_000),
  compactEveryUpdates: setting('COMPACT_EVERY_UPDATES', 'Compact a room once this many updates are in its log', integer(1, 1_000_000), 1000),
  compactIdleMs: setting('COMPACT_IDLE_MS', 'Compact a room this long after its last update', integer(10, 3_600_000), 30_000),
  compactMaxWaitMs: setting('COMPACT_MAX_WAIT_MS', 'Compact a busy room at most this long after its first update not in a snapshot, however its updates keep coming (bounds what a room written every few seconds holds in memory, and how late its canvas changes reach the change feed)', integer(10, 3_600_000), 60_000),
  chatEventDelayMs: setting('CHAT_EVENT_DELAY_MS', 'A chat message reaches the change feed and webhooks within about this long: a chat room is compacted this long after its first message not folded, however the conversation goes on (a chat over 1 MiB waits a second per 512 KiB: each fold rewrites it whole; canvas events follow COMPACT_IDLE_MS, COMPACT_MAX_WAIT_MS and COMPACT_EVERY_UPDATES)', integer(10, 3_600_000), 2_000),
  compactSweepMs: setting('COMPACT_SWEEP_MS', 'How often logs of rooms not in memory here are folded into snapshots (also retries failed saves)', integer(100, 3_600_000), 60_000),
  compactLeaseTtlMs: setting('COMPACT_LEASE_TTL_MS', 'A room\'s compaction lease lapses this long after its holder stops renewing it (e.g. died); then another node compacts', integer(300, 600_000), 30_000),
  compactBatchEntries: setting('COMPACT_BATCH_ENTRIES', 'Log entries read per batch when loading or compacting', integer(1, 100_000), 500),
  embeddedFsync: setting('EMBEDDED_FSYNC', 'fsync every embedded-log append (survives power loss, slower)', boolean, false),
  shutdownTimeoutMs: setting('SHUTDOWN_TIMEOUT_MS', 'Longest graceful shutdown before exit', integer(100, 600_000), 10_000),
  eventRetention: setting('EVENT_RETENTION', 'How long a group\'s change feed keeps its events (and webhooks their deliveries), e.g. 7d, 12h (units ms, s, m, h, d)', duration(60_000, 365 * 86_400_000), '7d'),
  maxWebhooksPerGroup: setting('MAX_WEBHOOKS_PER_GROUP', 'Webhooks a group may have; registering more gets 409 `quota_exceeded`', integer(1, 1_000), 10),
  webhookTimeoutMs: setting('WEBHOOK_TIMEOUT_MS', 'Longest one webhook delivery attempt may take, answer included; then it counts as failed and is retried', integer(100, 120_000), 10_000),
  webhookRetryBaseMs: setting('WEBHOOK_RETRY_BASE_MS', 'Wait before the first retry of a failed webhook delivery, doubling per attempt (each wait at most 6 h)', integer(10, 3_600_000), 5_000),
  webhookRetryWindowMs: setting('WEBHOOK_RETRY_WINDOW_MS', 'A delivery still failing this long after its first attempt is marked failed (retryable by hand) and the next event goes', integer(100, 30 * 86_400_000), 86_400_000),
  webhookDisableAfterMs: setting('WEBHOOK_DISABLE_AFTER_MS', 'A webhook whose deliveries have failed this long without a success is disabled; its owner sees why, and a manual retry enables it again', integer(100, 30 * 86_400_000), 86_400_000),
  webhookConcurrency: setting('WEBHOOK_CONCURRENCY', 'Webhooks one node sends to at the same time', integer(1, 256), 8),
  webhookPollMs: setting('WEBHOOK_POLL_MS', 'How often each node looks for webhook deliveries due (events recorded on the node itself wake it at once)', integer(50, 60_000), 1_000),
  webhookAllowedHosts: setting('WEBHOOK_ALLOWED_HOSTS', 'Comma-separated hosts webhooks may reach even though they resolve to loopback, private or link-local addresses (tests, private deployments); any other such target is refused', list, [] as string[]),
} as const

type Settings = typeof SETTINGS
export type Config = { -readonly [K in keyof Settings]: Settings[K]['fallback'] }

export type Env = Record<string, string | undefined>

/** Reads and validates every setting; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const entries = Object.entries(SETTINGS).map(([key, spec]: [string, Setting<unknown>]) => {
    const raw = env[spec.env]
    const value = raw === undefined || raw === '' ? spec.fallback : spec.parse(raw, spec.env)
    return [key, value]
  })
  const parsed = Object.fromEntries(entries) as Config
  const config = { ...parsed, dataDir: path.resolve(parsed.dataDir) }
  assertConsistent(config)
  return config
}

function assertConsistent(config: Config): void {
  if (config.redisUrl && config.redisClusterNodes) {
    throw new ConfigError('set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both')
  }
  if ((config.redisUrl || config.redisClusterNodes) && !config.mongodbUrl) {
    throw new ConfigError(`${config.redisUrl ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES'} requires MONGODB_URL: nodes sharing rooms must share snapshot storage`)
  }
  if (config.jwtSecret !== undefined && config.jwtSecret.length < 32) {
    throw new ConfigError('JWT_SECRET must be at least 32 characters')
  }
  if (config.nodeEnv === 'production' && (config.jwtSecret === undefined || config.jwtSecret === EXAMPLE_JWT_SECRET)) {
    throw new ConfigError('JWT_SECRET is required when NODE_ENV=production and must not be the example value (generate one: openssl rand -base64 48)')
  }
  if (config.nodeEnv === 'production' && config.metricsToken === undefined && !config.metricsPublic) {
    throw new ConfigError('METRICS_TOKEN is required when NODE_ENV=production (or set METRICS_PUBLIC=true to serve /metrics to anyone)')
  }
  // A lookup cached past the deadline would let a revoked member back in after a lost event.
  if (config.accessCacheTtlMs > config.revocationDeadlineMs) {
    throw new ConfigError('ACCESS_CACHE_TTL_MS must not exceed REVOCATION_DEADLINE_MS')
  }
  // A client resends what the server lacks in one frame: a budget smaller than a frame could never pay for it.
  if (config.writeBytesPerMinute < config.maxPayloadBytes) {
    throw new ConfigError('WRITE_BYTES_PER_MINUTE must be at least MAX_PAYLOAD_BYTES (a client resending its edits in one frame could never reconnect)')
  }
  // Otherwise a document at its largest could never be named, however few versions it has.
  if (config.maxNamedVersionBytesPerDoc < config.maxDocBytes) {
    throw new ConfigError('MAX_NAMED_VERSION_BYTES_PER_DOC must be at least MAX_DOC_BYTES (a document at its largest could never be named)')
  }
  // Node refuses a headers deadline past the whole-request deadline.
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS')
  }
}

/** A config for tests and tools: defaults, then overrides, validated the same way. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const config = { ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PORT: '0' }), ...overrides }
  assertConsistent(config)
  return config
}
