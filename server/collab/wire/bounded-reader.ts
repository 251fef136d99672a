/**
 * A reader over untrusted bytes. Every read checks the remaining length first and every count is
 * checked against what could possibly fit, so a tiny frame can never make us (or Yjs, later)
 * allocate or loop in proportion to a number it merely declares.
 */
export class DecodeError extends Error {
  override name = 'DecodeError'
}

/** Stored or relayed bytes in a format newer than this release reads (cluster/wire-format.ts). */
export class UnknownFormatError extends DecodeError {
  override name = 'UnknownFormatError'
}

// ignoreBOM: a string starting with U+FEFF keeps it, as Yjs's own decoder does (stripping it
// counted such a text item one clock short, and every later run of its client began too low).
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class BoundedReader {
  private pos = 0

  private readonly bytes: Uint8Array

  constructor(bytes: Uint8Array) {

    this.bytes = bytes
  }

  get remaining(): number {
    return this.bytes.length - this.pos
  }

  get position(): number {
    return this.pos
  }

  get done(): boolean {
    return this.pos === this.bytes.length
  }

  /** The next byte, without reading it (undefined at the end). */
  peek(): number | undefined {
    return this.bytes[this.pos]
  }

  uint8(): number {
    if (this.pos >= this.bytes.length) throw new DecodeError('unexpected end of data')
    return this.bytes[this.pos++] as number
  }

  /** lib0 varuint, limited to safe integers (at most 8 bytes ⇒ < 2^56, checked to 2^53). */
  varUint(): number {
    let value = 0
    let multiplier = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.uint8()
      value += (byte & 0x7f) * multiplier
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) break
        return value
      }
      multiplier *= 128
    }
    throw new DecodeError('varuint out of range')
  }

  /** lib0 varint (sign in the first byte): consumed, not needed. At most 8 bytes. */
  varIntSkip(): void {
    for (let i = 0; i < 8; i++) {
      if (this.uint8() < 0x80) return
    }
    throw new DecodeError('varint out of range')
  }

  /**
   * A count of items that each take at least `minBytesPerItem` bytes: refused if the items could
   * not possibly fit in what is left. This is the amplification guard.
   */
  count(minBytesPerItem = 1): number {
    const n = this.varUint()
    if (n * minBytesPerItem > this.remaining) throw new DecodeError(`declared count ${n} exceeds remaining ${this.remaining} bytes`)
    return n
  }

  bytesView(length: number): Uint8Array {
    if (length > this.remaining) throw new DecodeError(`declared length ${length} exceeds remaining ${this.remaining} bytes`)
    const view = this.bytes.subarray(this.pos, this.pos + length)
    this.pos += length
    return view
  }

  varBytes(): Uint8Array {
    return this.bytesView(this.varUint())
  }

  varString(): string {
    try {
      return textDecoder.decode(this.varBytes())
    } catch (error) {
      if (error instanceof DecodeError) throw error
      throw new DecodeError('invalid utf-8')
    }
  }

  skip(length: number): void {
    this.bytesView(length)
  }
}
