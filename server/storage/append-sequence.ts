/**
 * Increasing numbers that order appends made at an equal `at`: strictly increasing within a
 * process, and across processes and restarts ordered by wall-clock time (ms × 1024, so up to
 * 1024 appends a millisecond keep the clock's order). Stays a safe integer until the 23rd century.
 */
const PER_MS = 1024

export class AppendSequence {
  private last = 0

  next(): number {
    this.last = Math.max(this.last + 1, Date.now() * PER_MS)
    return this.last
  }
}
