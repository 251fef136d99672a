import type { Binary } from 'mongodb'

/** A plain Uint8Array view of stored bytes (the driver hands out Buffers), so both stores return the same type. */
export function bytesOf(binary: Binary): Uint8Array {
  const buffer = binary.buffer
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}
