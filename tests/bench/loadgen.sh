#!/usr/bin/env bash
# `shopctl loadgen` against `shopctl up` on a release build, with a baseline from the same run:
#   1. browse profile (Online Boutique's shoppers, think 1-10 s), 50 shoppers, 60 s: must be 0 errors;
#   2. stress profile (no think time), 20 shoppers, 60 s: throughput and p50/p95/p99 per route;
#   3. baseline: wrk, 20 connections, 60 s, on the single cheapest mixed-in route (one product
#      through the gateway), so the ratio says what the whole shopping mix costs against it.
#
# Usage: tests/bench/loadgen.sh [BASE_PORT] [SECONDS]   (defaults 18780, 60)
set -euo pipefail
cd "$(dirname "$0")/../.."
base="${1:-18780}"
secs="${2:-60}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
cargo build --release -p shopctl >&2
bin="$CARGO_TARGET_DIR/release/shopctl"
work="$(mktemp -d)"
"$bin" up --data-dir "$work/data" --base-port "$base" >"$work/up.log" 2>&1 &
up=$!
trap 'kill -TERM "$up" 2>/dev/null; wait "$up" 2>/dev/null; rm -rf "$work"' EXIT
"$bin" wait --healthy --timeout 60s --base-port "$base" >&2
ops=(--base-port "$base" --data-dir "$work/data")

echo "## browse profile: 50 shoppers, ${secs}s"
"$bin" loadgen "${ops[@]}" --users 50 --duration "${secs}s" --fail-on-error
echo
echo "## stress profile: 20 shoppers, ${secs}s"
"$bin" loadgen "${ops[@]}" --users 20 --duration "${secs}s" --profile stress --output json >"$work/stress.json"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("%d requests, %.1f req/s, %d orders, %d errors" % (r["requests"], r["requests_per_sec"], r["orders"], r["errors"]))
print("| route | req/s | p50 ms | p95 ms | p99 ms | refused | errors |")
print("|---|---:|---:|---:|---:|---:|---:|")
for x in r["routes"]:
    print("| %s | %.1f | %.1f | %.1f | %.1f | %d | %d |" % (x["route"], x["requests_per_sec"], x["p50_ms"], x["p95_ms"], x["p99_ms"], x["refused"], sum(x["errors"].values())))
' "$work/stress.json"
echo
id="$(curl -fsS "127.0.0.1:$base/api/products?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')"
echo "## baseline: wrk -c20 -t2 -d${secs}s GET /api/products/{id} through the gateway"
wrk -c20 -t2 -d"${secs}s" --latency "http://127.0.0.1:$base/api/products/$id" | grep -E "Requests/sec|50%|99%"
