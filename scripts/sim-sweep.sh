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
  out=$(SIM_SEED=random SIM_RUNS="$runs" SIM_PROGRESS="$runs" npx vitest run test/sim 2>&1)
  status=$?
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
