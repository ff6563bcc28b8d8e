#!/usr/bin/env bash
# `shopctl up` on a release build: time from start to every service ready (first run, which
# bootstraps and seeds, and a second run on the same data), and idle memory (RSS summed over the
# supervisor and its children, 5 s after ready); and the same with every service in one
# process (`--in-process`).
#
# Usage: tests/bench/up.sh [BASE_PORT]   (default 18680)
set -euo pipefail
cd "$(dirname "$0")/../.."
base="${1:-18680}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
cargo build --release -p shopctl >&2
bin="$CARGO_TARGET_DIR/release/shopctl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run() { # label [up flags...]
  local label="$1"; shift
  "$bin" up --data-dir "$work/data" --base-port "$base" --output json "$@" >"$work/up.json" 2>"$work/up.err" &
  local pid=$!
  for _ in $(seq 1 600); do grep -q '^}' "$work/up.json" 2>/dev/null && break; sleep 0.1; done
  local ms; ms="$(grep '"startup_ms"' "$work/up.json" | tr -dc 0-9)"
  sleep 5
  # The bracket keeps this grep from matching its own command line.
  local children; children="$(grep -ls "$work/data/[p]latform.toml" /proc/[0-9]*/cmdline | cut -d/ -f3 || true)"
  local kib; kib="$(for p in $pid $children; do awk '/^VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s+=$1} END {print s}')"
  kill -TERM "$pid"; wait "$pid"
  echo "| $label | $ms ms | $((kib / 1024)) MiB | $(echo "$children" | wc -w) |"
}
echo "| run | start to all ready | idle RSS (supervisor + children) | children |"
echo "|---|---:|---:|---:|"
run "first (bootstrap, migrations, demo seed)"
run "second (same data)"
run "in one process (--in-process, same data)" --in-process
