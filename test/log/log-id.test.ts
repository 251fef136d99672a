import { describe, expect, it } from 'vitest'
import { compareLogIds, LogIdClock, parseLogId, sortableLogId, successorLogId } from '../../server/log/log-id.ts'

describe('log ids', () => {
  it('parse and compare numerically, not as strings', () => {
    expect(parseLogId('1795382505960-12')).toEqual([1795382505960, 12])
    expect(compareLogIds('9-0', '10-0')).toBeLessThan(0)
    expect(compareLogIds('10-2', '10-10')).toBeLessThan(0)
    expect(compareLogIds('10-10', '10-10')).toBe(0)
    expect(sortableLogId('9-0') < sortableLogId('10-0')).toBe(true)
    expect(successorLogId('5-9')).toBe('5-10')
  })

  it.each(['', '-', '5', '5-', '-5', 'a-1', '1-b', '1.5-2', '1-2-3', '-1-2'])('rejects %j', (bad) => {
    expect(() => parseLogId(bad)).toThrow()
  })

  it('issues increasing ids even when the clock stalls or goes back', () => {
    const clock = new LogIdClock()
    const ids = [clock.next(100), clock.next(100), clock.next(99), clock.next(101)]
    for (let i = 1; i < ids.length; i++) expect(compareLogIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0)
    clock.observe('500-3')
    expect(compareLogIds(clock.next(200), '500-3')).toBeGreaterThan(0)
  })
})
