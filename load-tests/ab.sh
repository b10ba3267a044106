#!/usr/bin/env bash
# A/B of two commits of the gateway on one machine, in one run: each ref is built in a git
# worktree, both gateways run side by side against the same embedded backends (one legacy
# process, one process for the new services), and 50-connection autocannon runs alternate
# between them (A B, then B A, …), so the machine's drift hits both alike; each round starts both
# gateways afresh (see below). Each run prints req/s, p99, the gateway's CPU time per request
# (from /proc/<pid>/stat) and its highest RSS; the end prints medians.
#
# usage: bash load-tests/ab.sh <ref-a> <ref-b> [rounds=6] [seconds=8] [path]
#   path: a fixed request path (e.g. /occ/v2/electronics-spa/catalogs for the passthrough);
#         default: the composed OCC product over 10,000 rotating codes and 1,000 x-user-ids
#   flags: every context on the new services (100 %), LOG_LEVEL=info
#   node flags of each gateway: NODE_ARGS_A / NODE_ARGS_B (default "--max-old-space-size=128
#         --single-threaded-gc", as in production), e.g. NODE_ARGS_B="--max-old-space-size=128"
#         bash load-tests/ab.sh HEAD HEAD   to A/B a runtime flag on one build
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=${1:?usage: ab.sh <ref-a> <ref-b> [rounds] [seconds] [path]}
B=${2:?usage: ab.sh <ref-a> <ref-b> [rounds] [seconds] [path]}
ROUNDS=${3:-6}
SECONDS_PER_RUN=${4:-8}
REQ_PATH=${5:-}
NODE_ARGS_A=${NODE_ARGS_A:---max-old-space-size=128 --single-threaded-gc}
NODE_ARGS_B=${NODE_ARGS_B:---max-old-space-size=128 --single-threaded-gc}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gateway-ab-XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for side in a b; do git -C "$ROOT" worktree remove --force "$WORK/$side" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

build() { # ref side
  git -C "$ROOT" worktree add --detach --quiet "$WORK/$2" "$1"
  ln -s "$ROOT/node_modules" "$WORK/$2/node_modules"
  (cd "$WORK/$2" && npx tsc -p tsconfig.build.json)
  echo "built $1 ($(git -C "$ROOT" rev-parse --short "$1")) as $2"
}
build "$A" a
build "$B" b
echo "node flags: A $NODE_ARGS_A · B $NODE_ARGS_B"
(cd "$ROOT" && npm run build --silent) # the embedded backends

AB="node --import tsx $ROOT/load-tests/ab-run.ts" # the harness's flags, requests, load runner and medians
mkdir -p "$WORK/flags"
(cd "$ROOT" && $AB flags "$WORK/flags")

ready() { # file: waits for the world's ready line
  for _ in $(seq 1 100); do grep -q ready "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "backends did not start: $(cat "$1")" >&2; exit 1
}
node "$ROOT/dist/load-tests/world.js" legacy > "$WORK/legacy.out" & PIDS+=($!)
node "$ROOT/dist/load-tests/world.js" pricing,inventory,promotions > "$WORK/services.out" & PIDS+=($!)
ready "$WORK/legacy.out"; ready "$WORK/services.out"
url() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).ready[process.argv[2]])' "$1" "$2"; }
LEGACY=$(url "$WORK/legacy.out" legacy)
PRICING=$(url "$WORK/services.out" pricing)
INVENTORY=$(url "$WORK/services.out" inventory)
PROMOTIONS=$(url "$WORK/services.out" promotions)

start() { # side port node-args
  # shellcheck disable=SC2086 # the node flags are a space-separated list
  HOST=127.0.0.1 PORT=$2 LEGACY_URL=$LEGACY PRICING_URL=$PRICING INVENTORY_URL=$INVENTORY PROMOTIONS_URL=$PROMOTIONS \
    FLAGS_DIR="$WORK/flags" LOG_LEVEL=info ADMIN_TOKEN=ab-test-admin-token-0000 \
    node $3 --enable-source-maps "$WORK/$1/dist/src/server.js" > "$WORK/gateway-$1.log" 2>&1 &
  local pid=$! # started in $(…): the caller records it
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$2/healthz" > /dev/null && break; sleep 0.1; done
  echo "$pid"
}
stop() { kill "$1" 2>/dev/null || true; while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; }

# Fresh gateway processes every round, started in alternating order: one pair of processes kept
# for the whole A/B favoured one side by ~25 % throughout (B by 1.22x, and again by 1.28x with
# the refs swapped), whichever build it ran. A process keeps what the JIT and the scheduler gave
# it at start, so only new processes each round average that out.
run() { (cd "$ROOT" && $AB run "$1" "$2" "$3" "$SECONDS_PER_RUN" "$REQ_PATH") | tee -a "$WORK/results"; }
for r in $(seq 1 "$ROUNDS"); do
  PORT_A=$(cd "$ROOT" && $AB port)
  PORT_B=$(cd "$ROOT" && $AB port)
  if (( r % 2 == 1 )); then
    PID_A=$(start a "$PORT_A" "$NODE_ARGS_A"); PID_B=$(start b "$PORT_B" "$NODE_ARGS_B")
  else
    PID_B=$(start b "$PORT_B" "$NODE_ARGS_B"); PID_A=$(start a "$PORT_A" "$NODE_ARGS_A")
  fi
  PIDS+=("$PID_A" "$PID_B")
  if (( r % 2 == 1 )); then run A "$PORT_A" "$PID_A"; run B "$PORT_B" "$PID_B"; else run B "$PORT_B" "$PID_B"; run A "$PORT_A" "$PID_A"; fi
  stop "$PID_A"; stop "$PID_B"
done
(cd "$ROOT" && $AB summary "$WORK/results" "$A" "$B")
