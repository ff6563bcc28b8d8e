#!/usr/bin/env bash
# Gateway benchmark: the product service direct, through `shopctl serve gateway` (a customer's
# bearer token verified at the edge, rate limiting on) and through nginx proxying the same
# upstream, in one run. Prints a Markdown table with ratios against the direct numbers.
#
# Usage: tests/bench/gateway.sh [DURATION]   (default 15s per target)
# Needs: wrk and nginx (apt-get install wrk nginx). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${1:-15s}"
connections="${CONNECTIONS:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
cargo build --release -p shopctl >&2
bin="$CARGO_TARGET_DIR/release/shopctl"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export SHOPCTL_USER__LOG=warn SHOPCTL_PRODUCT__LOG=warn SHOPCTL_GATEWAY__LOG=warn
jwks="http://127.0.0.1:18702/.well-known/jwks.json"
"$bin" serve user --port 18702 --data-dir "$work" >"$work/user.log" 2>&1 & pids+=($!)
SHOPCTL_PRODUCT__JWKS_URL="$jwks" "$bin" serve product --port 18703 --data-dir "$work" >"$work/product.log" 2>&1 & pids+=($!)
SHOPCTL_GATEWAY__JWKS_URL="$jwks" \
  SHOPCTL_GATEWAY__RATE_LIMIT_PER_MINUTE=100000000 SHOPCTL_GATEWAY__RATE_LIMIT_BURST=1000000 \
  SHOPCTL_GATEWAY__UPSTREAMS__USER=http://127.0.0.1:18702 \
  SHOPCTL_GATEWAY__UPSTREAMS__PRODUCT=http://127.0.0.1:18703 \
  "$bin" serve gateway --port 18700 >"$work/gateway.log" 2>&1 & pids+=($!)
for port in 18700 18702 18703; do
  for _ in $(seq 1 100); do curl -fs "127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done

cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  upstream product { server 127.0.0.1:18703; keepalive 64; }
  server {
    listen 127.0.0.1:18701;
    location / {
      proxy_pass http://product;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
nginx -c "$work/nginx.conf"

# A customer's token, so the gateway verifies a real JWT on every request.
curl -fs -X POST 127.0.0.1:18700/api/users/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"violet-harbour-kettle-9"}' >/dev/null
token="$(curl -fs -X POST 127.0.0.1:18700/api/users/login -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"violet-harbour-kettle-9"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
sku="$(curl -fs '127.0.0.1:18703/api/products?limit=1' | sed -E 's/.*"sku":"([^"]+)".*/\1/')"
path="/api/products/sku/$sku"

measure() {
  local out
  out="$(wrk -t2 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $token" "$1")"
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx from $1" >&2; echo "$out" >&2; exit 1; fi
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}')|$(echo "$out" | awk '$1=="99%" {print $2}')"
}

direct="$(measure "http://127.0.0.1:18703$path")"
gateway="$(measure "http://127.0.0.1:18700$path")"
nginx_r="$(measure "http://127.0.0.1:18701$path")"
rps() { echo "${1%%|*}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "| target | req/s | p99 | vs direct | vs nginx |"
echo "|---|---:|---:|---:|---:|"
echo "| product direct | $(rps "$direct") | ${direct##*|} | 1.00 | $(ratio "$(rps "$direct")" "$(rps "$nginx_r")") |"
echo "| via shopctl gateway (JWT verified, rate limited) | $(rps "$gateway") | ${gateway##*|} | $(ratio "$(rps "$gateway")" "$(rps "$direct")") | $(ratio "$(rps "$gateway")" "$(rps "$nginx_r")") |"
echo "| via nginx (keepalive upstream) | $(rps "$nginx_r") | ${nginx_r##*|} | $(ratio "$(rps "$nginx_r")" "$(rps "$direct")") | 1.00 |"
