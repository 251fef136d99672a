/**
 * Where a webhook may point (SSRF): http(s) URLs whose host resolves only to public addresses.
 * Loopback, private, shared, link-local (cloud metadata at 169.254.169.254 among them), multicast,
 * reserved and documentation ranges are refused, and so are IPv6 forms that embed an IPv4 address
 * (mapped, translated, NAT64, 6to4) when that address would be refused, and the deprecated
 * IPv4-compatible ::/96 whole. Hosts in WEBHOOK_ALLOWED_HOSTS skip
 * the address check (tests, private deployments). The check runs at registration and again in
 * the lookup of every delivery's connection, on the address actually connected to, so a name
 * that resolves elsewhere later (DNS rebinding) is refused then.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'

const BLOCKED = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, bits, 'ipv4')
// ::/96 holds the unspecified address, loopback and the deprecated IPv4-compatible ::a.b.c.d
// (RFC 4291 2.5.5.1; ::127.0.0.1 is ::7f00:1): nothing a webhook may reach lives there.
// 64:ff9b:1::/48 is for local NAT64 translators (RFC 8215), which reach internal IPv4 networks.
for (const [net, bits] of [
  ['::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(net, bits, 'ipv6')

/** Why a URL may not be a webhook target, or null when it may (its address still checked on delivery). */
export function urlProblem(raw: string): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'not a URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be http or https'
  if (url.username !== '' || url.password !== '') return 'must not carry credentials'
  if (url.hash !== '') return 'must not have a fragment'
  return null
}

/** The host as the allow list and the resolver see it (IPv6 without brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
}

export function isBlockedAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return BLOCKED.check(address, 'ipv4')
  if (family !== 6) return true
  const embedded = embeddedIpv4(address)
  if (embedded !== null) return isBlockedAddress(embedded)
  return BLOCKED.check(address, 'ipv6')
}

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d,
 * RFC 2765), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address. IPv4-compatible ones (::/96) are
 * refused whole by BLOCKED.
 */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase()
  const dotted = /^(?:::ffff:|::ffff:0:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted) return dotted[1]!
  const words = expandIpv6(lower)
  if (!words) return null
  const tail = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return tail(words[6]!, words[7]!)
  if (words.slice(0, 4).every((w) => w === 0) && words[4] === 0xffff && words[5] === 0) return tail(words[6]!, words[7]!)
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) return tail(words[6]!, words[7]!)
  if (words[0] === 0x2002) return tail(words[1]!, words[2]!)
  return null
}

function expandIpv6(address: string): number[] | null {
  if (address.includes('.')) return null
  const [head = '', tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = 8 - left.length - right.length
  if (tail === undefined ? missing !== 0 : missing < 0) return null
  return [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((w) => Number.parseInt(w, 16))
}

export class TargetRefused extends Error {
  override name = 'TargetRefused'
}

/** Resolves `host` and refuses it if any address is one a webhook may not reach. */
export async function checkHost(host: string, allowed: readonly string[]): Promise<void> {
  if (allowed.includes(host)) return
  const addresses = await resolveAll(host)
  const bad = addresses.find((a) => isBlockedAddress(a.address))
  if (bad) throw new TargetRefused(`${host} resolves to ${bad.address}, which webhooks may not reach`)
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  if (isIP(host) !== 0) return Promise.resolve([{ address: host, family: isIP(host) }])
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)))
  })
}

/**
 * A `lookup` for the delivery's connection: resolves as usual and fails the connection when the
 * address it would use is refused (so the check and the connection see the same address).
 */
export function guardedLookup(allowed: readonly string[]): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0)
      const list = addresses as LookupAddress[]
      const usable = allowed.includes(host) ? list : list.filter((a) => !isBlockedAddress(a.address))
      if (usable.length === 0) return callback(new TargetRefused(`${host} resolves only to addresses webhooks may not reach`), '', 0)
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable)
      callback(null, usable[0]!.address, usable[0]!.family)
    })
  }
}
