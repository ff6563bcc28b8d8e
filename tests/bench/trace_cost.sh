#!/usr/bin/env bash
# What one trace per request costs: the gateway's throughput (tests/bench/gateway.sh's "via
# shopctl gateway" row: a cached token, rate limiting, the proxy) and end-to-end checkouts per
# second (tests/bench/checkout.sh: seven services on PostgreSQL) of this tree against a build of
# BASE_REV (before trace propagation, route labels and the pool, saga and process metrics), in
# one run: the two builds take turns, round after round, and the table shows medians.
#
# Usage: tests/bench/trace_cost.sh BASE_REV [ROUNDS]   (default 3 rounds)
# Needs: what gateway.sh and checkout.sh need (wrk, nginx, pgbench, PostgreSQL), and git.
set -euo pipefail
cd "$(dirname "$0")/../.."

base_rev="${1:?usage: tests/bench/trace_cost.sh BASE_REV [ROUNDS]}"
rounds="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
work="$(mktemp -d)"
# A fixed place for the base's checkout, so a second run finds its build warm.
base_tree="$CARGO_TARGET_DIR/trace-cost-base"
cleanup() {
  git worktree remove --force "$base_tree" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git worktree remove --force "$base_tree" 2>/dev/null || true
git worktree add --detach "$base_tree" "$base_rev" >&2
(cd "$base_tree" && cargo build --release -p shopctl >&2)
cp "$CARGO_TARGET_DIR/release/shopctl" "$work/shopctl-base"
cargo build --release -p shopctl >&2
cp "$CARGO_TARGET_DIR/release/shopctl" "$work/shopctl-new"

measure() { # build → appends "gateway_rps checkouts_per_s" to $work/<build>.results
  local gateway checkouts
  gateway="$(SHOPCTL_BIN="$work/shopctl-$1" bash tests/bench/gateway.sh 5s 1 |
    awk -F'|' '/via shopctl gateway \(JWT checked \(cached token\)/ {gsub(/ /, "", $3); print $3}')"
  checkouts="$(SHOPCTL_BIN="$work/shopctl-$1" bash tests/bench/checkout.sh 15s 4 |
    awk -F'|' '/confirmed orders\/s through the gateway/ {gsub(/ /, "", $3); print $3}')"
  echo "$gateway $checkouts" >>"$work/$1.results"
}
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then measure base; measure new; else measure new; measure base; fi
done
median() { awk -v c="$1" '{print $c}' "$2" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
gb="$(median 1 "$work/base.results")"; gn="$(median 1 "$work/new.results")"
cb="$(median 2 "$work/base.results")"; cn="$(median 2 "$work/new.results")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
echo "| measure (median of $rounds rounds each, builds alternating) | $base_rev | this tree | this ÷ base |"
echo "|---|---:|---:|---:|"
echo "| gateway req/s (cached token, rate limited, proxied) | $gb | $gn | $(ratio "$gn" "$gb") |"
echo "| confirmed checkouts/s (4 customers, PostgreSQL) | $cb | $cn | $(ratio "$cn" "$cb") |"
