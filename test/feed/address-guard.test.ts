/** Which addresses webhooks may reach (SSRF), including IPv6 forms that embed a refused IPv4 address. */
import { expect, it } from 'vitest'
import { checkHost, hostOf, isBlockedAddress, urlProblem } from '../../server/webhooks/address-guard.ts'

it('refuses loopback, private, shared, link-local, metadata, multicast and reserved addresses', () => {
  for (const address of [
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.0.1', '100.64.0.1', '169.254.169.254', '169.254.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '198.18.0.1', '192.0.2.1',
    '::', '::1', 'fe80::1', 'fd00:ec2::254', 'fc00::1', 'ff02::1', '2001:db8::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '64:ff9b::10.0.0.1', '2002:7f00:1::', 'not an address',
  ]) expect(isBlockedAddress(address), address).toBe(true)
})

it('refuses the deprecated IPv4-compatible ::/96 whole, and IPv4-translated forms of refused addresses', () => {
  for (const address of [
    '::7f00:1', '::127.0.0.1', '::a9fe:a9fe', '::169.254.169.254', '::a00:1', '::5db8:d822', '::93.184.216.34', '::0:0:1', '0:0:0:0:0:0:7f00:1',
    '::ffff:0:7f00:1', '::ffff:0:127.0.0.1', '::ffff:0:a9fe:a9fe', '64:ff9b:1::a00:1', '64:ff9b:1:a00:1::',
  ]) expect(isBlockedAddress(address), address).toBe(true)
  expect(isBlockedAddress('::ffff:0:5db8:d822'), 'translated public address').toBe(false)
})

it('refuses an IPv4-compatible URL host as it is parsed and resolved', async () => {
  const host = hostOf(new URL('http://[::127.0.0.1]/'))
  expect(host).toBe('::7f00:1')
  await expect(checkHost(host, [])).rejects.toThrow(/may not reach/)
})

it('lets public addresses through', () => {
  for (const address of ['93.184.216.34', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:93.184.216.34', '64:ff9b::5db8:d822']) {
    expect(isBlockedAddress(address), address).toBe(false)
  }
})

it('refuses URLs that are not plain http(s) targets', () => {
  expect(urlProblem('https://example.com/hook?x=1')).toBeNull()
  expect(urlProblem('ftp://example.com/')).toMatch(/http/)
  expect(urlProblem('http://a:b@example.com/')).toMatch(/credentials/)
  expect(urlProblem('http://example.com/#x')).toMatch(/fragment/)
  expect(urlProblem('example.com')).toMatch(/not a URL/)
})

it('resolves names before judging them, and skips the check only for allowed hosts', async () => {
  await expect(checkHost('localhost', [])).rejects.toThrow(/may not reach/)
  await expect(checkHost('127.0.0.1', [])).rejects.toThrow(/may not reach/)
  await expect(checkHost('127.0.0.1', ['127.0.0.1'])).resolves.toBeUndefined()
  await expect(checkHost('93.184.216.34', [])).resolves.toBeUndefined()
})
