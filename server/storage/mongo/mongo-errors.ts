import { MongoServerError } from 'mongodb'

export const DUPLICATE_KEY = 11000
export const NOT_IMPLEMENTED = 238

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY
}

export function isNotImplemented(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === NOT_IMPLEMENTED
}
