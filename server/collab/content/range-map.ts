/**
 * Clock ranges of one Yjs client, sorted and non-overlapping, each tagged with a number (the
 * container its items live in, or 1 for "deleted"). A client's structs arrive in clock order, so
 * nearly every insert is an append, and consecutive items of one container merge into one range:
 * a stroke drawn point by point is a handful of ranges, not one per point.
 */
export class RangeMap {
  private readonly starts: number[]
  private readonly ends: number[]
  private readonly tags: number[]

  constructor(starts: number[] = [], ends: number[] = [], tags: number[] = []) {
    this.starts = starts
    this.ends = ends
    this.tags = tags
  }

  /** The ranges from the `from`-th, at most `count` of them, as plain arrays (to pass between threads). */
  slice(from: number, count: number): [number[], number[], number[]] {
    const to = from + count
    return [this.starts.slice(from, to), this.ends.slice(from, to), this.tags.slice(from, to)]
  }

  /** Appends ranges that follow every range held (a slice of another map, in order). */
  appendArrays([starts, ends, tags]: [number[], number[], number[]]): void {
    for (let i = 0; i < starts.length; i++) this.append(starts[i]!, ends[i]!, tags[i]!)
  }

  get size(): number {
    return this.starts.length
  }

  /** The clock after the last range (the client's known state when ranges are contiguous). */
  get end(): number {
    return this.ends.at(-1) ?? 0
  }

  /** The tag of the range holding `clock`, or undefined. */
  tagAt(clock: number): number | undefined {
    const i = this.indexAt(clock)
    return i < 0 ? undefined : this.tags[i]
  }

  /** Tags `[start, end)`; overlapping parts of existing ranges keep their tag (first wins). */
  add(start: number, end: number, tag: number): void {
    if (start >= end) return
    const last = this.starts.length - 1
    if (last < 0 || start >= this.ends[last]!) return this.append(start, end, tag)
    for (const [from, to] of this.uncovered(start, end)) this.insert(from, to, tag)
  }

  /** The parts of `[start, end)` no range covers. */
  uncovered(start: number, end: number): Array<[number, number]> {
    const gaps: Array<[number, number]> = []
    let at = start
    for (let i = this.firstEndingAfter(start); i < this.starts.length && at < end; i++) {
      if (this.starts[i]! > at) gaps.push([at, Math.min(end, this.starts[i]!)])
      at = Math.max(at, this.ends[i]!)
    }
    if (at < end) gaps.push([at, end])
    return gaps
  }

  /** The covered parts of `[start, end)` with their tags, in clock order. */
  covered(start: number, end: number): Array<[number, number, number]> {
    const parts: Array<[number, number, number]> = []
    for (let i = this.firstEndingAfter(start); i < this.starts.length && this.starts[i]! < end; i++) {
      parts.push([Math.max(start, this.starts[i]!), Math.min(end, this.ends[i]!), this.tags[i]!])
    }
    return parts
  }

  /** Every range, in order (for serialising and tests). */
  *entries(): IterableIterator<[number, number, number]> {
    for (let i = 0; i < this.starts.length; i++) yield [this.starts[i]!, this.ends[i]!, this.tags[i]!]
  }

  private append(start: number, end: number, tag: number): void {
    const last = this.starts.length - 1
    if (last >= 0 && this.ends[last] === start && this.tags[last] === tag) {
      this.ends[last] = end
      return
    }
    this.starts.push(start)
    this.ends.push(end)
    this.tags.push(tag)
  }

  /** Inserts a range known not to overlap any other (merging with equal-tagged neighbours). */
  private insert(start: number, end: number, tag: number): void {
    const i = this.firstEndingAfter(start)
    const before = i - 1
    if (before >= 0 && this.ends[before] === start && this.tags[before] === tag) {
      this.ends[before] = end
      if (i < this.starts.length && this.starts[i] === end && this.tags[i] === tag) this.join(before)
      return
    }
    if (i < this.starts.length && this.starts[i] === end && this.tags[i] === tag) {
      this.starts[i] = start
      return
    }
    this.starts.splice(i, 0, start)
    this.ends.splice(i, 0, end)
    this.tags.splice(i, 0, tag)
  }

  private join(i: number): void {
    this.ends[i] = this.ends[i + 1]!
    this.starts.splice(i + 1, 1)
    this.ends.splice(i + 1, 1)
    this.tags.splice(i + 1, 1)
  }

  private indexAt(clock: number): number {
    const i = this.firstEndingAfter(clock)
    return i < this.starts.length && this.starts[i]! <= clock ? i : -1
  }

  /** The first range whose end is after `clock` (binary search). */
  private firstEndingAfter(clock: number): number {
    let low = 0
    let high = this.starts.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.ends[mid]! <= clock) low = mid + 1
      else high = mid
    }
    return low
  }
}
