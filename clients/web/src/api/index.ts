export * from './client'
export * from './errors'
export * from './session'
export type * from './types'
