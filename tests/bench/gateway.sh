#!/usr/bin/env bash
# Gateway benchmark: the product service direct, through `shopctl serve gateway` (a customer's
# bearer token checked at the edge, rate limiting on), through nginx proxying the same
# upstream (plainly, and again doing the edge work it can: `nginx_conf ... edge` in
# `gateway_env.sh`), and through a bare hyper proxy (`services/gateway/examples/bare_proxy.rs`:
# hyper's server and the gateway's upstream pool with nothing in between, the floor of the
# gateway's HTTP stack), in one run. Prints a Markdown table with ratios against the direct and
# the nginx numbers.
#
# With one token the gateway checks its signature once a minute and answers every other request
# from its verified-token cache, so that row is labelled "cached token". Three more gateway
# rows send a random token of many with every request (`tokens.lua`; tokens minted by
# `services/gateway/examples/mint_tokens.rs` with the key whose JWKS the gateway trusts): 1
# token through the same script (their baseline, as the script costs wrk some time), 5,000
# customers (within the cache's 10,000 entries: each token verified once a minute, then cached)
# and 100,000 customers (more than the cache holds, and it empties when full: nearly every
# request is a real Ed25519 signature check). Many customers also mean many rate-limit buckets
# (one per customer), which these rows pay for too.
#
# Usage: tests/bench/gateway.sh [DURATION] [ROUNDS]   (default 5s per target and round, 5 rounds)
#
# The five targets are measured in interleaved rounds (the order rotates every round) and the
# table shows medians, so a machine that speeds up or slows down during the run moves them all
# alike. Besides req/s and p99 it reports each proxy's CPU time per request (user + system, and
# the user part alone, from /proc), which does not depend on how the two cores happen to be
# shared in a round.
# Needs: wrk and nginx (apt-get install wrk nginx). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${1:-5s}"
rounds="${2:-5}"
connections="${CONNECTIONS:-32}"
# shellcheck source=tests/bench/gateway_env.sh
. tests/bench/gateway_env.sh
prepare wrk nginx
minted_tokens 18706 1 5000 100000
start_upstreams 18702 18703
gateway_settings 18702 18703
"$bin" serve gateway --port 18700 >"$work/gateway.log" 2>&1 & pids+=($!)
gateway_pid=$!
"$bare" 127.0.0.1:18704 127.0.0.1:18703 >"$work/bare.log" 2>&1 & pids+=($!)
bare_pid=$!
for _ in $(seq 1 100); do curl -fs "127.0.0.1:18700/readyz" >/dev/null && break; sleep 0.1; done
nginx_conf "$work/nginx.conf" 18701 18703 2
nginx -c "$work/nginx.conf"
nginx_conf "$work/nginx-edge.conf" 18705 18703 2 edge
nginx -c "$work/nginx-edge.conf"
for _ in $(seq 1 50); do [ -s "$work/nginx-edge.pid" ] && [ -s "$work/nginx.pid" ] && break; sleep 0.1; done

# A customer's token, checked by the gateway on every request (from its cache after the first).
token="$(head -n 1 "$work/tokens-1.txt")"
sku="$(first_sku 18703)"
path="/api/products/sku/$sku"
# The edge nginx does what its configuration says: its answers carry the request id and the
# security headers.
edge_head="$(curl -fs -D - -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:18705$path")"
if ! grep -qi '^x-request-id: [0-9a-f]' <<<"$edge_head" || ! grep -qi '^x-frame-options: DENY' <<<"$edge_head"; then
  echo "nginx's edge configuration is not in effect:" >&2
  echo "$edge_head" >&2
  exit 1
fi

nginx_pids="$(pgrep -d' ' -P "$(cat "$work/nginx.pid")")"
nginx_edge_pids="$(pgrep -d' ' -P "$(cat "$work/nginx-edge.pid")")"
# CPU ticks of the given processes: "user+system user".
ticks() {
  local total=0 user=0 pid fields
  for pid in "$@"; do
    read -r -a fields <"/proc/$pid/stat"
    total=$((total + fields[13] + fields[14]))
    user=$((user + fields[13]))
  done
  echo "$total $user"
}
hz="$(getconf CLK_TCK)"
# measure NAME URL PID...: one wrk run; appends "rps p99_ms cpu_us user_us" (CPU per request)
# to $work/NAME. With TOKENS=FILE set, each request carries a random token of FILE instead.
measure() {
  local name="$1" url="$2" out before after auth
  shift 2
  if [ -n "${TOKENS:-}" ]; then auth=(-s tests/bench/tokens.lua); else auth=(-H "Authorization: Bearer $token"); fi
  read -r -a before <<<"$(ticks "$@")"
  out="$(wrk -t2 -c"$connections" -d"$duration" --latency "${auth[@]}" "$url")"
  read -r -a after <<<"$(ticks "$@")"
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx from $url" >&2; echo "$out" >&2; exit 1; fi
  echo "$out" | awk -v cpu="$((after[0] - before[0]))" -v user="$((after[1] - before[1]))" -v hz="$hz" '
    /requests in/ {n = $1}
    /Requests\/sec/ {rps = $2}
    $1 == "99%" {p = $2; if (p ~ /us$/) p = p / 1000; else if (p ~ /ms$/) p = p + 0; else p = p * 1000}
    END {printf "%s %.2f %.1f %.1f\n", rps, p, (n > 0 ? cpu * 1000000 / hz / n : 0), (n > 0 ? user * 1000000 / hz / n : 0)}' >>"$work/$name"
}
targets=(direct gateway nginx nginx_edge bare gateway_1 gateway_5k gateway_100k)
for round in $(seq 1 "$rounds"); do
  for i in "${!targets[@]}"; do
    case "${targets[$(((i + round) % ${#targets[@]}))]}" in
      direct) measure direct "http://127.0.0.1:18703$path" "$product_pid" ;;
      gateway) measure gateway "http://127.0.0.1:18700$path" "$gateway_pid" ;;
      gateway_1) TOKENS="$work/tokens-1.txt" measure gateway_1 "http://127.0.0.1:18700$path" "$gateway_pid" ;;
      gateway_5k) TOKENS="$work/tokens-5000.txt" measure gateway_5k "http://127.0.0.1:18700$path" "$gateway_pid" ;;
      gateway_100k) TOKENS="$work/tokens-100000.txt" measure gateway_100k "http://127.0.0.1:18700$path" "$gateway_pid" ;;
      nginx) measure nginx "http://127.0.0.1:18701$path" $nginx_pids ;;
      nginx_edge) measure nginx_edge "http://127.0.0.1:18705$path" $nginx_edge_pids ;;
      bare) measure bare "http://127.0.0.1:18704$path" "$bare_pid" ;;
    esac
  done
  echo "round $round of $rounds done" >&2
done
# median COLUMN FILE
median() { awk -v c="$1" '{print $c}' "$2" | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
for t in "${targets[@]}"; do
  eval "${t}_rps=$(median 1 "$work/$t") ${t}_p99=$(median 2 "$work/$t") ${t}_cpu=$(median 3 "$work/$t") ${t}_user=$(median 4 "$work/$t")"
done
# ratios A B: per-round throughput ratios of A's rounds over B's.
ratios() { paste -d' ' "$work/$1" "$work/$2" | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $5}'; }
echo "| target | req/s (median of $rounds) | p99 | proxy CPU per request (user part) | vs direct | vs nginx |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| product direct | $direct_rps | $direct_p99 ms | — | 1.00 | $(ratio "$direct_rps" "$nginx_rps") |"
echo "| via shopctl gateway (JWT checked (cached token), rate limited) | $gateway_rps | $gateway_p99 ms | $gateway_cpu µs ($gateway_user µs) | $(ratio "$gateway_rps" "$direct_rps") | $(ratio "$gateway_rps" "$nginx_rps") |"
echo "| via nginx (keepalive upstream) | $nginx_rps | $nginx_p99 ms | $nginx_cpu µs ($nginx_user µs) | $(ratio "$nginx_rps" "$direct_rps") | 1.00 |"
echo "| via nginx doing the edge work it can (rate limit, request id, headers; no JWT) | $nginx_edge_rps | $nginx_edge_p99 ms | $nginx_edge_cpu µs ($nginx_edge_user µs) | $(ratio "$nginx_edge_rps" "$direct_rps") | $(ratio "$nginx_edge_rps" "$nginx_rps") |"
echo "| via bare hyper proxy (floor) | $bare_rps | $bare_p99 ms | $bare_cpu µs ($bare_user µs) | $(ratio "$bare_rps" "$direct_rps") | $(ratio "$bare_rps" "$nginx_rps") |"
echo
echo "Gateway vs nginx throughput, round by round: $(ratios gateway nginx)."
echo "Gateway vs nginx doing the edge work it can, round by round: $(ratios gateway nginx_edge)."
echo "Bare hyper proxy vs nginx throughput, round by round: $(ratios bare nginx)."
echo
echo "| gateway, a random token of many per request (wrk script) | req/s (median of $rounds) | p99 | gateway CPU per request (user part) | vs 1 token, same script |"
echo "|---|---:|---:|---:|---:|"
echo "| 1 token (cached) | $gateway_1_rps | $gateway_1_p99 ms | $gateway_1_cpu µs ($gateway_1_user µs) | 1.00 |"
echo "| 5,000 customers (each verified once a minute, then cached) | $gateway_5k_rps | $gateway_5k_p99 ms | $gateway_5k_cpu µs ($gateway_5k_user µs) | $(ratio "$gateway_5k_rps" "$gateway_1_rps") |"
echo "| 100,000 customers (more than the 10,000-entry cache: signature checks) | $gateway_100k_rps | $gateway_100k_p99 ms | $gateway_100k_cpu µs ($gateway_100k_user µs) | $(ratio "$gateway_100k_rps" "$gateway_1_rps") |"
echo
echo "100,000 customers vs nginx throughput, round by round: $(ratios gateway_100k nginx)."
