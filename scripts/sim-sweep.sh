#!/usr/bin/env bash
# The long sweep of the room simulation (test/sim): CHUNKS runs of RUNS histories each, every
# chunk from a fresh random seed, printed with its result. A failure stops the sweep and prints
# the seed, path and replay path fast-check reports (replay: SIM_SEED=<seed> SIM_PATH=<path>
# SIM_REPLAY=<replayPath> npx vitest run test/sim). `npm test` runs 150 histories of one fixed seed.
set -uo pipefail
cd "$(dirname "$0")/.."
chunks=${CHUNKS:-10}
runs=${RUNS:-1000}
total=0
for ((chunk = 1; chunk <= chunks; chunk++)); do
  # Shrinking stops after SIM_SHRINK candidates and SIM_TIME_LIMIT_MS: the smallest failure found is printed.
  log="${TMPDIR:-/tmp}/sim-sweep-chunk-$chunk.log"
  SIM_SEED=random SIM_RUNS="$runs" SIM_PROGRESS="${SIM_PROGRESS:-100}" SIM_SHRINK="${SIM_SHRINK:-1000}" SIM_TIME_LIMIT_MS="${SIM_TIME_LIMIT_MS:-900000}" npx vitest run test/sim/room-core.sim.test.ts > "$log" 2>&1
  status=$?
  out=$(cat "$log")
  seed=$(printf '%s\n' "$out" | sed -n 's/.*sim: seed \([0-9]*\),.*/\1/p' | head -n 1)
  if [ "$status" -ne 0 ]; then
    printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E 'seed:|Counterexample|Caused by|replayPath' | cut -c 1-2000
    echo "sim sweep: chunk $chunk (seed $seed) FAILED after $total histories passed"
    exit 1
  fi
  total=$((total + runs))
  echo "sim sweep: chunk $chunk/$chunks seed $seed: $runs histories passed ($total in all)"
done
echo "sim sweep: $total histories from $chunks seeds, no failure"
