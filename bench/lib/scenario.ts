/** What a scenario is and what it reports. */
import type { TargetName } from './clients.ts'

export interface Profile {
  name: 'quick' | 'full'
  rounds: number
  warmupMs: number
  durationMs: number
  oneRoomClients: number
  manyRooms: number
  throughputSteps: number[]
  /** Offered edits/s of the lean ceiling ramp, then bisection steps after the first failure. */
  leanSteps: number[]
  leanRefine: number
  /** Lean generator processes (all on the load core). */
  generators: number
  idleConnections: number
  idleRooms: number
  stormClients: number
  bigDocBytes: number
  smallDocBytes: number
  loadedRooms: number
  compactionUpdates: number
  restRequests: number
  /** Minutes of churn in the memory soak (figure 10). */
  soakMinutes: number
}

export const PROFILES: Record<Profile['name'], Profile> = {
  quick: {
    name: 'quick', rounds: 2, warmupMs: 1_000, durationMs: 3_000, oneRoomClients: 100, manyRooms: 100,
    throughputSteps: [500, 1_000, 2_000, 4_000, 8_000],
    leanSteps: [2_000, 4_000, 8_000, 12_000, 16_000, 24_000, 32_000, 48_000, 64_000, 96_000], leanRefine: 1, generators: 1, idleConnections: 1_000, idleRooms: 200, stormClients: 300,
    bigDocBytes: 2 * 1024 * 1024, smallDocBytes: 160 * 1024, loadedRooms: 10, compactionUpdates: 5_000, restRequests: 300, soakMinutes: 3,
  },
  full: {
    name: 'full', rounds: 3, warmupMs: 2_000, durationMs: 8_000, oneRoomClients: 100, manyRooms: 500,
    throughputSteps: [500, 1_000, 2_000, 3_000, 4_000, 6_000, 8_000, 12_000, 16_000],
    leanSteps: [1_000, 2_000, 4_000, 6_000, 8_000, 10_000, 12_000, 16_000, 20_000, 24_000, 32_000, 40_000, 48_000, 64_000, 96_000, 128_000], leanRefine: 2, generators: 1, idleConnections: 5_000, idleRooms: 1_000, stormClients: 1_000,
    bigDocBytes: 10 * 1024 * 1024, smallDocBytes: 160 * 1024, loadedRooms: 20, compactionUpdates: 20_000, restRequests: 1_000, soakMinutes: 30,
  },
}

export interface Row {
  figure: number
  metric: string
  unit: string
  lowerIsBetter: boolean
  /** Median over rounds, per target (or per variant such as "embedded" / "mongodb"). */
  values: Partial<Record<string, number>>
  /** False where the load generator passed 80% CPU (the figure is then not the server's). */
  valid?: Partial<Record<string, boolean>>
  /** True where the figure is a lower bound because the measurement stopped before a limit was found. */
  atLeast?: Partial<Record<string, boolean>>
  note?: string
}

export interface ScenarioContext {
  profile: Profile
  targets: TargetName[]
  log(message: string): void
}

export interface Scenario {
  id: string
  figure: number
  title: string
  run(ctx: ScenarioContext): Promise<Row[]>
}
