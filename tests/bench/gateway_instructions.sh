#!/usr/bin/env bash
# Instructions per proxied request: the shopctl gateway (a customer's JWT verified, rate limiting
# on), the bare hyper proxy (`services/gateway/examples/bare_proxy.rs`) and nginx (one worker),
# each run under `valgrind --tool=callgrind` in front of the same product service, counted over
# exactly N requests after a warm-up. Instruction counts do not depend on what else the machine
# is doing, so they compare the three proxies' own work where the throughput benchmark
# (`tests/bench/gateway.sh`) is at the mercy of the two shared cores. User space only: the
# kernel's share (the same system calls for all three) is not counted.
#
# Usage: tests/bench/gateway_instructions.sh [N]   (default 4000 requests, over 4 connections)
# Needs: valgrind, nginx, python3 (apt-get install valgrind nginx). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."

requests="${1:-4000}"
# shellcheck source=tests/bench/gateway_env.sh
. tests/bench/gateway_env.sh
prepare valgrind nginx
start_upstreams 18712 18713
token="$(customer_token http://127.0.0.1:18712)"
path="/api/products/sku/$(first_sku 18713)"
nginx_conf "$work/nginx.conf" 18710 18713 1 foreground

# Sends exactly N keep-alive GETs over 4 connections and checks every answer is a 200.
client() {
  python3 - "$path" "$token" "$requests" <<'PY'
import socket, sys, threading
path, token, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
def run(count):
    conn = socket.create_connection(("127.0.0.1", 18710))
    pending = b""
    for _ in range(count):
        conn.sendall(request)
        while b"\r\n\r\n" not in pending:
            pending += conn.recv(65536)
        head, _, rest = pending.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            sys.exit(f"not a 200: {head[:80]!r}")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(rest) < length:
            rest += conn.recv(65536)
        pending = rest[length:]
threads = [threading.Thread(target=run, args=(total // 4,)) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
PY
}

# count NAME COMMAND...: instructions per request of COMMAND serving 127.0.0.1:18710.
count() {
  local name="$1" pid
  shift
  valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" "$@" >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do curl -fs -o /dev/null "127.0.0.1:18710$path" && break; sleep 0.2; done
  # Warm-up: connections pooled, token verified and cached, buckets made.
  wrk -t1 -c4 -d2s -H "Authorization: Bearer $token" "http://127.0.0.1:18710$path" >/dev/null
  callgrind_control -z "$pid" >/dev/null
  client
  callgrind_control -d "$pid" >/dev/null
  sleep 1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  callgrind_annotate "$work/$name.out.1" 2>/dev/null |
    awk -v n="$requests" '/PROGRAM TOTALS/ {gsub(",", "", $1); printf "%.0f\n", $1 / n}'
}

gateway_settings 18712 18713
gateway="$(count gateway "$bin" serve gateway --port 18710)"
bare_count="$(count bare "$bare" 127.0.0.1:18710 127.0.0.1:18713)"
nginx_count="$(count nginx nginx -c "$work/nginx.conf")"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "| proxy | instructions per request (user space, $requests requests) | vs nginx |"
echo "|---|---:|---:|"
echo "| shopctl gateway (JWT verified, rate limited) | $gateway | $(ratio "$gateway" "$nginx_count") |"
echo "| bare hyper proxy (floor) | $bare_count | $(ratio "$bare_count" "$nginx_count") |"
echo "| nginx (one worker, keepalive upstream) | $nginx_count | 1.00 |"
