#!/usr/bin/env bash
# `shopctl dash` on a release build against a running 8-service shop (`shopctl up`, SQLite):
#  - idle CPU over DURATION seconds at the default 2 s refresh, from /proc (utime+stime of the
#    dashboard), against the same-run baseline of `shopctl status` run every 2 s (which probes
#    and scrapes the same services once a round);
#  - peak RSS (VmHWM) of the dashboard;
#  - from a service stopping (SIGSTOP) to the overview showing it down, in refresh intervals,
#    ROUNDS times.
# The dashboard runs in a real terminal (tmux, 200×50).
#
# Usage: tests/bench/dash.sh [DURATION_S] [ROUNDS] [BASE_PORT]   (defaults 60 5 18780)
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-60}"
rounds="${2:-5}"
base="${3:-18780}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
cargo build --release -p shopctl >&2
bin="$CARGO_TARGET_DIR/release/shopctl"
work="$(mktemp -d)"
sock="shopctl-dash-bench-$$"
up_pid=""
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  [ -n "$up_pid" ] && kill -TERM "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
hz="$(getconf CLK_TCK)"

"$bin" up --data-dir "$work/data" --base-port "$base" >"$work/up.log" 2>&1 &
up_pid=$!
"$bin" wait --healthy --timeout 120s --base-port "$base" >/dev/null

ticks() { # pid -> utime+stime (+ children's) in clock ticks
  awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"
}

# Baseline: `shopctl status` every 2 s, CPU of the loop's children.
baseline() {
  local start end me="$BASHPID"
  start="$(awk '{print $16 + $17}' "/proc/$me/stat")"
  local stop=$((SECONDS + duration))
  while [ "$SECONDS" -lt "$stop" ]; do
    "$bin" status --base-port "$base" --data-dir "$work/data" --window 1s >/dev/null || true
    sleep 1
  done
  end="$(awk '{print $16 + $17}' "/proc/$me/stat")"
  echo $((end - start))
}
base_ticks="$(baseline)"

tmux -L "$sock" new-session -d -s dash -x 200 -y 50 \
  "$bin dash --base-port $base --data-dir $work/data; sleep 60"
sleep 3
dash_pid="$(pgrep -f "^$bin dash --base-port $base" | head -n 1)"
before="$(ticks "$dash_pid")"
sleep "$duration"
after="$(ticks "$dash_pid")"
hwm_kib="$(awk '/^VmHWM/ {print $2}' "/proc/$dash_pid/status")"

row() { # service -> health word in the overview
  tmux -L "$sock" capture-pane -p -t dash | awk -v s="$1" '$3 == s {print $2; exit}'
}
refreshes=()
for _ in $(seq 1 "$rounds"); do
  pid="$(python3 -c "import json,sys; print(json.load(open('$work/data/run/processes.json'))['services']['order']['pid'])")"
  kill -STOP "$pid"
  t0="$(date +%s%N)"
  until [ "$(row order)" = "down" ]; do sleep 0.05; done
  t1="$(date +%s%N)"
  kill -CONT "$pid"
  until [ "$(row order)" = "up" ]; do sleep 0.1; done
  refreshes+=("$(( (t1 - t0) / 1000000 ))")
  sleep 3
done

pct() { awk -v t="$1" -v hz="$hz" -v d="$duration" 'BEGIN {printf "%.2f", 100 * t / hz / d}'; }
echo "| measure | shopctl dash | baseline: shopctl status every 2 s |"
echo "|---|---:|---:|"
echo "| CPU over ${duration} s, % of one core | $(pct $((after - before))) % | $(pct "$base_ticks") % |"
echo "| peak RSS (VmHWM) | $((hwm_kib / 1024)) MiB | |"
echo "| service stopped → shown down (ms, ${rounds} runs; refresh 2000 ms) | ${refreshes[*]} | |"
