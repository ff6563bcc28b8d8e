#!/usr/bin/env bash
# The storefront on a release build, through the gateway, with the demo catalog: for each page
# type, the page weight (HTML bytes; the one style sheet is counted once, below) and the time
# per page under wrk with one connection (p50/p99, so the numbers are the server's time per
# page, not queueing), plus the product API's own p99 in the same run as the baseline. The
# baseline is the search a category page makes, sent with a customer's bearer token, which the
# gateway's 5 s response cache never answers (it caches anonymous reads only), so it measures
# the catalog query and the proxy, as the pages do; the same search sent anonymously (a cache
# hit nearly every time) is listed beside it for reference.
# The gateway's per-client limit is lifted for the run: one wrk client is not a shopper.
#
# Usage: tests/bench/storefront.sh [SECONDS_PER_PAGE] [BASE_PORT]   (defaults 10, 18780)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
base="${2:-18780}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
cargo build --release -p shopctl >&2
bin="$CARGO_TARGET_DIR/release/shopctl"
work="$(mktemp -d)"
SHOPCTL_GATEWAY__RATE_LIMIT_PER_MINUTE=600000000 SHOPCTL_GATEWAY__RATE_LIMIT_BURST=1000000 \
  SHOPCTL_GATEWAY__AUTH_RATE_LIMIT_PER_MINUTE=600000000 \
  "$bin" up --data-dir "$work/data" --base-port "$base" >"$work/up.log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$bin" wait --healthy --timeout 60s --base-port "$base" >/dev/null
for _ in $(seq 1 100); do grep -q "Ctrl-C stops everything" "$work/up.log" && break; sleep 0.1; done
gw="http://127.0.0.1:$base"
email=customer@shopctl.local
password="$(awk '$1 == "customer" {print $3}' "$work/up.log")"
token="$(curl -fsS "$gw/api/users/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')"
auth=(-H "authorization: Bearer $token" -H 'content-type: application/json')
sku="$(curl -fsS "$gw/api/products?sort=newest&limit=1" | sed 's/.*"sku":"\([^"]*\)".*/\1/')"
curl -fsS "${auth[@]}" "$gw/api/cart/items" -d "{\"sku\":\"$sku\",\"quantity\":1}" >/dev/null
order="$(curl -fsS "${auth[@]}" -H "idempotency-key: bench-$$" "$gw/api/orders" \
  -d '{"shipping_address":{"name":"Bench","line1":"1 Main St","city":"Springfield","postal_code":"12345","country":"US"},"payment":{"card_number":"4242424242424242","exp_month":12,"exp_year":2040,"cvc":"123"}}' \
  | sed 's/.*"id":"\([^"]*\)".*/\1/' )"
order="${order:0:36}"
curl -fsS "${auth[@]}" "$gw/api/cart/items" -d "{\"sku\":\"$sku\",\"quantity\":1}" >/dev/null
cookie="sid=benchmark-session-0001; at=$token"

measure() { # label path [signed-in|bearer]
  local label="$1" path="$2" headers=()
  [ "${3:-}" = signed-in ] && headers=(-H "Cookie: $cookie")
  [ "${3:-}" = bearer ] && headers=(-H "authorization: Bearer $token")
  local bytes; bytes="$(curl -fsS -o /dev/null -w '%{size_download}' "${headers[@]}" "$gw$path")"
  wrk -t1 -c1 -d"${secs}s" --latency "${headers[@]}" "$gw$path" >"$work/wrk.txt"
  local rps p50 p99 bad
  rps="$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")"
  p50="$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")"
  bad="$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")"
  echo "| $label | \`$path\` | $bytes | $rps | $p50 | $p99 | ${bad:-0} |"
}
echo "| page | path | HTML bytes | req/s (1 conn) | p50 | p99 | non-2xx |"
echo "|---|---|---:|---:|---:|---:|---:|"
measure "API baseline: product search, customer's token (not cached)" "/api/products?category=kitchen&limit=24" bearer
measure "same search, anonymous (the gateway's cache answers)" "/api/products?category=kitchen&limit=24"
measure home "/"
measure category "/c/kitchen"
measure search "/search?q=classic"
measure product "/p/$sku"
measure "sign in" "/login"
measure cart "/cart" signed-in
measure checkout "/checkout" signed-in
measure "order history" "/orders" signed-in
measure "order detail" "/orders/$order" signed-in
measure account "/account" signed-in
echo
echo "style sheet: $(curl -fsS -o /dev/null -w '%{size_download}' "$gw/static/app.css") bytes (cached an hour); script: $(curl -fsS -o /dev/null -w '%{size_download}' "$gw/static/app.js") bytes"
