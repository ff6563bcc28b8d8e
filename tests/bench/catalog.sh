#!/usr/bin/env bash
# Catalog benchmark: seed 100,000 products, then load `GET /api/products?category=…` and `?q=…`
# with wrk, on SQLite and on PostgreSQL. The baseline is `/livez` of the same process in the
# same run (the cost of the HTTP stack alone), so results are ratios, not absolute claims.
#
# Usage: tests/bench/catalog.sh [COUNT] [DURATION]   (defaults: 100000 products, 15s per endpoint)
# Needs: wrk (apt-get install wrk), PostgreSQL at 127.0.0.1:5432. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."

count="${1:-100000}"
duration="${2:-15s}"
connections="${CONNECTIONS:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cargo build --release -p shopctl >&2
bin="$CARGO_TARGET_DIR/release/shopctl"
work="$(mktemp -d)"
pg_db="shopctl_bench_$$"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Runs wrk and prints "req/s|p50 ms|p99 ms".
measure() {
  local out rps p50 p99
  out="$(wrk -t2 -c"$connections" -d"$duration" --latency "$1")"
  if echo "$out" | grep -q "Non-2xx"; then
    echo "non-2xx responses from $1" >&2
    echo "$out" >&2
    exit 1
  fi
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(echo "$out" | awk '$1=="50%" {print $2}')"
  p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
  echo "$rps|$(to_ms "$p50")|$(to_ms "$p99")"
}

to_ms() {
  case "$1" in
    *us) awk -v v="${1%us}" 'BEGIN {printf "%.2f", v / 1000}' ;;
    *ms) awk -v v="${1%ms}" 'BEGIN {printf "%.2f", v}' ;;
    *s) awk -v v="${1%s}" 'BEGIN {printf "%.2f", v * 1000}' ;;
  esac
}

echo "| backend | endpoint | req/s | p50 ms | p99 ms | req/s vs /livez |"
echo "|---|---|---:|---:|---:|---:|"
port=18590
for backend in sqlite postgres; do
  if [ "$backend" = sqlite ]; then
    data=(--data-dir "$work/sqlite")
  else
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $pg_db"
    data=(--database-url "postgres://postgres@127.0.0.1:5432/$pg_db")
  fi
  seeded="$("$bin" seed products --count "$count" --seed 1 "${data[@]}" --output json)"
  echo "seed $backend: $(echo "$seeded" | tr -d '\n ')" >&2
  SHOPCTL_PRODUCT__ENVIRONMENT=production SHOPCTL_PRODUCT__LOG=warn \
    SHOPCTL_PRODUCT__DB_MAX_CONNECTIONS=16 \
    "$bin" serve product --port "$port" "${data[@]}" >"$work/$backend.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs "127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  base="http://127.0.0.1:$port"
  baseline="$(measure "$base/livez")"
  base_rps="${baseline%%|*}"
  echo "| $backend | \`/livez\` (baseline) | ${baseline//|/ | } | 1.00 |"
  for path in "/api/products?category=kitchen" "/api/products?category=kitchen&sort=price_asc&min_price=2000" \
              "/api/products?q=classic" "/api/products?q=espresso%20maker"; do
    result="$(measure "$base$path")"
    ratio="$(awk -v a="${result%%|*}" -v b="$base_rps" 'BEGIN {printf "%.3f", a / b}')"
    echo "| $backend | \`${path#/api/products}\` | ${result//|/ | } | $ratio |"
  done
  kill -TERM "$server"; wait "$server" || true; server=""
  port=$((port + 1))
done
