#!/usr/bin/env bash
# Checkout benchmark: end-to-end checkouts per second through the gateway with every service on
# PostgreSQL (cart add + checkout: catalog prices, reservation, authorize, confirm, capture,
# confirmation event), next to pgbench's TPC-B-like TPS against the same server, in one run.
#
# Usage: tests/bench/checkout.sh [DURATION] [CUSTOMERS]   (defaults 20s, 4)
# Needs: wrk and pgbench, PostgreSQL at 127.0.0.1:5432 (user postgres, trust). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${1:-20s}"
customers="${2:-4}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# SHOPCTL_BIN: a shopctl built elsewhere (tests/bench/trace_cost.sh compares two builds).
[ -n "${SHOPCTL_BIN:-}" ] || cargo build --release -p shopctl >&2
bin="${SHOPCTL_BIN:-$CARGO_TARGET_DIR/release/shopctl}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

pg() { psql -h 127.0.0.1 -U postgres -d postgres -qAtc "$1"; }
for svc in user product inventory payment order notification pgbench; do
  pg "DROP DATABASE IF EXISTS bench_$svc WITH (FORCE)"
  pg "CREATE DATABASE bench_$svc"
done

key="$(head -c 32 /dev/urandom | basenc --base64url | tr -d =)"
admin="bench-admin-token-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
start() { # service port
  local up; up="$(echo "$1" | tr a-z A-Z)"
  env "SHOPCTL_${up}__DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_$1" \
    "SHOPCTL_${up}__SERVICE_KEY=$key" "SHOPCTL_${up}__ADMIN_TOKEN=$admin" \
    "SHOPCTL_${up}__LOG=warn" "SHOPCTL_${up}__DB_MAX_CONNECTIONS=20" \
    "SHOPCTL_${up}__JWKS_URL=http://127.0.0.1:18802/.well-known/jwks.json" \
    "${@:3}" "$bin" --config "$work/shopctl.toml" serve "$1" --port "$2" --data-dir "$work" >"$work/$1.log" 2>&1 &
  pids+=($!)
}
# Events go to this run's notification service.
cat >"$work/shopctl.toml" <<TOML
[user.subscribers]
"user.registered" = ["http://127.0.0.1:18807/internal/events"]
"user.erased" = ["http://127.0.0.1:18807/internal/events"]

[order.subscribers]
"order.confirmed" = ["http://127.0.0.1:18807/internal/events"]
"order.cancelled" = ["http://127.0.0.1:18807/internal/events"]
"payment.failed" = ["http://127.0.0.1:18807/internal/events"]
TOML
start user 18802
start product 18803 SHOPCTL_PRODUCT__SEED_DEMO=false
start inventory 18805 SHOPCTL_INVENTORY__SEED_DEMO=false
start payment 18806
start notification 18807
start order 18804 SHOPCTL_ORDER__PRODUCT_URL=http://127.0.0.1:18803 \
  SHOPCTL_ORDER__INVENTORY_URL=http://127.0.0.1:18805 SHOPCTL_ORDER__PAYMENT_URL=http://127.0.0.1:18806
SHOPCTL_GATEWAY__JWKS_URL="http://127.0.0.1:18802/.well-known/jwks.json" SHOPCTL_GATEWAY__ADMIN_TOKEN="$admin" \
  SHOPCTL_GATEWAY__LOG=warn SHOPCTL_GATEWAY__RATE_LIMIT_PER_MINUTE=100000000 \
  SHOPCTL_GATEWAY__RATE_LIMIT_BURST=1000000 SHOPCTL_GATEWAY__AUTH_RATE_LIMIT_PER_MINUTE=100000 \
  SHOPCTL_GATEWAY__UPSTREAMS__USER=http://127.0.0.1:18802 SHOPCTL_GATEWAY__UPSTREAMS__PRODUCT=http://127.0.0.1:18803 \
  SHOPCTL_GATEWAY__UPSTREAMS__ORDER=http://127.0.0.1:18804 SHOPCTL_GATEWAY__UPSTREAMS__INVENTORY=http://127.0.0.1:18805 \
  SHOPCTL_GATEWAY__UPSTREAMS__PAYMENT=http://127.0.0.1:18806 \
  "$bin" --config "$work/shopctl.toml" serve gateway --port 18800 >"$work/gateway.log" 2>&1 & pids+=($!)
for port in 18800 18802 18803 18804 18805 18806 18807; do
  for _ in $(seq 1 200); do curl -fs "127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  curl -fs "127.0.0.1:$port/readyz" >/dev/null || { echo "port $port not ready" >&2; cat "$work"/*.log >&2; exit 1; }
done

gw=http://127.0.0.1:18800
auth=(-H "Authorization: Bearer $admin" -H 'Content-Type: application/json')
curl -fs -X POST "$gw/api/categories" "${auth[@]}" -d '{"slug":"bench","name":"Bench"}' >/dev/null
curl -fs -X POST "$gw/api/products" "${auth[@]}" \
  -d '{"sku":"BENCH-1","name":"Bench Kettle","price":{"amount":2500,"currency":"USD"},"category":"bench","brand":"Acme"}' >/dev/null
curl -fs -X POST "$gw/api/inventory/BENCH-1/adjust" "${auth[@]}" -d '{"delta":1000000,"reason":"benchmark stock"}' >/dev/null
for i in $(seq 1 "$customers"); do
  curl -fs -X POST "$gw/api/users/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench$i@example.com\",\"password\":\"violet-harbour-kettle-9\"}" >/dev/null
  token="$(curl -fs -X POST "$gw/api/users/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench$i@example.com\",\"password\":\"violet-harbour-kettle-9\"}" \
    | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
  export "TOKEN_$i=$token"
done
export SKU=BENCH-1

out="$(wrk -t"$customers" -c"$customers" -d"$duration" --latency -s tests/bench/checkout.lua "$gw")"
echo "$out" >&2
read -r _ checkouts _ cancelled _ pending _ failed _ seconds <<<"$(echo "$out" | grep '^CHECKOUTS')"
p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
cps="$(awk -v c="$checkouts" -v s="$seconds" 'BEGIN {printf "%.1f", c / s}')"

pgbench -h 127.0.0.1 -U postgres -i -q -s 10 bench_pgbench >/dev/null 2>&1
tps="$(pgbench -h 127.0.0.1 -U postgres -c "$customers" -j 2 -T "${duration%s}" bench_pgbench 2>/dev/null \
  | awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]; exit}')"
ratio="$(awk -v a="$cps" -v b="$tps" 'BEGIN {printf "%.3f", a / b}')"

echo "| measure | value |"
echo "|---|---:|"
echo "| confirmed orders/s through the gateway ($customers customers, cart add + checkout) | $cps |"
echo "| checkouts answered with a cancelled order | $cancelled |"
echo "| checkouts still pending when answered (202) | $pending |"
echo "| failed requests (any other answer) | $failed |"
echo "| p99 of a request (add or checkout) | $p99 |"
echo "| pgbench TPC-B-like TPS ($customers clients, scale 10) | $tps |"
echo "| confirmed orders/s ÷ pgbench TPS | $ratio |"
