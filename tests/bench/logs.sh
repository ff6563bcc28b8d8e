#!/usr/bin/env bash
# `shopctl logs --trace ID` over a large local log directory, against `grep -F ID` over the same
# files in the same run (the target: at least half grep's speed). The logs are made up for the
# run: eight services' files (with rotated ones beside them) of the JSON lines the services write,
# each line with its own trace id, and one trace of seven hops spread across the services. Both
# tools read warm files (each runs once before the timed rounds); the table shows the median of
# the rounds, which alternate between the two.
#
# Usage: tests/bench/logs.sh [SIZE_MB] [ROUNDS]   (defaults 1024 MB, 5 rounds)
# Needs: python3, GNU grep. Local files only.
set -euo pipefail
cd "$(dirname "$0")/../.."

size_mb="${1:-1024}"
rounds="${2:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
if [ -z "${SHOPCTL_BIN:-}" ]; then
  cargo build --release -p shopctl >&2
fi
bin="${SHOPCTL_BIN:-$CARGO_TARGET_DIR/release/shopctl}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs"
trace="4bf92f3577b34da6a3ce929d0e0e4736"

python3 - "$work/logs" "$size_mb" "$trace" <<'PY'
import os, random, sys
logs, size_mb, trace = sys.argv[1], int(sys.argv[2]), sys.argv[3]
services = ["gateway", "frontend", "user", "product", "order", "inventory", "payment", "notification"]
per_file = size_mb * 1024 * 1024 // (len(services) * 2)
rnd = random.Random(42)
hops = {"gateway": (None, "a0"), "frontend": ("a0", "a1"), "order": ("a1", "a2"), "product": ("a2", "a3"),
        "inventory": ("a2", "a4"), "payment": ("a2", "a5"), "notification": ("a2", "a6")}
def line(service, n, trace_id, span, parent):
    parent_field = f',"parent_id":"{parent:0>16}"' if parent else ""
    return (f'{{"timestamp":"2026-12-05T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}000Z","level":"INFO",'
            f'"service":"{service}","request_id":"0193a1b2-{n:012x}","trace_id":"{trace_id}",'
            f'"span_id":"{span:0>16}"{parent_field},"method":"GET","path":"/api/products/SHO-{n % 5000:05d}",'
            f'"route":"/api/products/{{id}}","status":200,"latency_ms":{rnd.random() * 20:.3f},'
            f'"message":"request served","target":"shopctl_kit::http"}}\n')
for service in services:
    for suffix in (".log.1", ".log"):
        with open(os.path.join(logs, service + suffix), "w") as f:
            written, n = 0, 0
            chunk = []
            while written < per_file:
                text = line(service, n, "%032x" % rnd.getrandbits(128), "%016x" % rnd.getrandbits(64), None)
                chunk.append(text)
                written += len(text)
                n += 1
                if service in hops and suffix == ".log" and n == 1000:
                    parent, span = hops[service]
                    chunk.append(line(service, n, trace, span, parent))
                if len(chunk) >= 10000:
                    f.write("".join(chunk))
                    chunk = []
            f.write("".join(chunk))
PY
bytes="$(du -cb "$work"/logs/* | tail -n 1 | cut -f1)"

time_of() { # command... → seconds (wall)
  local start end
  start="$(date +%s.%N)"
  "$@" >/dev/null
  end="$(date +%s.%N)"
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}'
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
grep_run() { LC_ALL=C grep -F -h "$trace" "$work"/logs/*; }
shopctl_run() { "$bin" logs --trace "$trace" --data-dir "$work" --output json; }

# Both must find the trace: seven hops.
hops="$(shopctl_run | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["hops"]))')"
found="$(grep_run | wc -l)"
[ "$hops" = 7 ] && [ "$found" = 7 ] || { echo "expected 7 lines and 7 hops, got $found and $hops" >&2; exit 1; }

: >"$work/grep.times"
: >"$work/shopctl.times"
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then
    time_of grep_run >>"$work/grep.times"; echo >>"$work/grep.times"
    time_of shopctl_run >>"$work/shopctl.times"; echo >>"$work/shopctl.times"
  else
    time_of shopctl_run >>"$work/shopctl.times"; echo >>"$work/shopctl.times"
    time_of grep_run >>"$work/grep.times"; echo >>"$work/grep.times"
  fi
done
grep_s="$(median <"$work/grep.times")"
shopctl_s="$(median <"$work/shopctl.times")"
mb="$(awk -v b="$bytes" 'BEGIN {printf "%.0f", b / 1048576}')"
echo "| tool, over $mb MiB of logs (16 files), median of $rounds | seconds | MiB/s | vs grep -F |"
echo "|---|---:|---:|---:|"
echo "| \`grep -F ID\` | $grep_s | $(awk -v m="$mb" -v s="$grep_s" 'BEGIN {printf "%.0f", m / s}') | 1.00 |"
echo "| \`shopctl logs --trace ID\` (7 hops found and drawn) | $shopctl_s | $(awk -v m="$mb" -v s="$shopctl_s" 'BEGIN {printf "%.0f", m / s}') | $(awk -v a="$grep_s" -v b="$shopctl_s" 'BEGIN {printf "%.2f", a / b}') |"
