#!/usr/bin/env bash
# `shopctl backup` on a release build and `shopctl seed all` data, in one run, on SQLite:
# - backup create of the stopped shop against `tar --zstd` of the same database files
#   (throughput ratio; both read the same bytes, zstd level 3 in both),
# - backup create of the running shop: the write pause it reports,
# - backup verify (scratch restore, checks, a shop served on it: the measured RTO),
# - restore in place.
#
# Usage: tests/bench/backup.sh [BASE_PORT] [PRODUCTS] [USERS] [ORDERS]
# ORDERS defaults to 0: `seed orders` writes order history without the payments and
# reservations a real checkout leaves, which `backup verify` rightly reports as broken
# invariants (exit 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
base="${1:-18780}"
products="${2:-20000}"
users="${3:-5000}"
orders="${4:-0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
cargo build --release -p shopctl >&2
bin="$CARGO_TARGET_DIR/release/shopctl"
work="$(mktemp -d)"
data="$work/data"
trap 'kill "${up:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

ms() { date +%s%3N; }

# A shop that has run once (migrations, keys), then seeded.
"$bin" up --data-dir "$data" --base-port "$base" --output json >"$work/up.json" 2>"$work/up.err" &
up=$!
"$bin" wait --healthy --timeout 60s --base-port "$base" >/dev/null
kill -TERM "$up"; wait "$up" || true
if [ "$orders" -gt 0 ]; then
  "$bin" seed all --products "$products" --users "$users" --orders "$orders" --data-dir "$data" --output json >/dev/null
else
  for what in products stock; do
    "$bin" seed "$what" --count "$products" --data-dir "$data" --output json >/dev/null
  done
  "$bin" seed users --count "$users" --data-dir "$data" --output json >/dev/null
fi
bytes="$(du -cb "$data"/*.db | tail -n 1 | cut -f1)"

t0="$(ms)"; tar --zstd -cf "$work/tar.tar.zst" -C "$data" user.db product.db inventory.db payment.db notification.db order.db; t1="$(ms)"
tar_ms=$((t1 - t0))
t0="$(ms)"; "$bin" backup create --name offline --data-dir "$data" --base-port "$base" --output json >"$work/offline.json"; t1="$(ms)"
backup_ms=$((t1 - t0))

"$bin" up --data-dir "$data" --base-port "$base" --output json >"$work/up.json" 2>"$work/up.err" &
up=$!
"$bin" wait --healthy --timeout 60s --base-port "$base" >/dev/null
"$bin" backup create --name online --data-dir "$data" --base-port "$base" --output json >"$work/online.json"
pause_ms="$(python3 -c "import json; print(json.load(open('$work/online.json'))['pause_ms'])")"
kill -TERM "$up"; wait "$up" || true

t0="$(ms)"; "$bin" backup verify online --data-dir "$data" --output json >"$work/verify.json"; t1="$(ms)"
verify_ms=$((t1 - t0))
rto_ms="$(python3 -c "import json; print(json.load(open('$work/verify.json'))['rto_ms'])")"
t0="$(ms)"; "$bin" restore online --data-dir "$data" --output json >/dev/null; t1="$(ms)"
restore_ms=$((t1 - t0))
stored="$(python3 -c "import json; m=json.load(open('$work/offline.json')); print(sum(d['bytes'] for d in m['databases']))")"
tar_bytes="$(stat -c %s "$work/tar.tar.zst")"

echo "databases: $((bytes / 1024)) KiB ($products products, $users users, $orders orders)"
echo "| what | time | MB/s | ratio to tar --zstd | stored |"
echo "|---|---:|---:|---:|---:|"
echo "| tar --zstd of the database files | $tar_ms ms | $((bytes / 1000 / (tar_ms > 0 ? tar_ms : 1))) | 1.00 | $((tar_bytes / 1024)) KiB |"
echo "| backup create (shop stopped) | $backup_ms ms | $((bytes / 1000 / (backup_ms > 0 ? backup_ms : 1))) | $(python3 -c "print(f'{$tar_ms / max($backup_ms, 1):.2f}')") | $((stored / 1024)) KiB |"
echo
echo "write pause of backup create on the running shop: $pause_ms ms"
echo "backup verify: $verify_ms ms in all, of which to a serving shop (RTO): $rto_ms ms"
echo "restore in place: $restore_ms ms"
