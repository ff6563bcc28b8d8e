# Shared by the gateway benchmarks (`gateway.sh`, `gateway_instructions.sh`); sourced, not run,
# from the repository's root.

# prepare TOOL...: installs the missing TOOLs, builds shopctl, the bare proxy and the token
# minter (release), and
# sets `bin`, `bare`, a scratch directory `work` and a `pids` array; on exit every process in
# `pids` (and a daemonised nginx) is stopped and `work` removed.
prepare() {
  local tool
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shopctl-target}"
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
  done
  # SHOPCTL_BIN: a shopctl built elsewhere (tests/bench/trace_cost.sh compares two builds).
  [ -n "${SHOPCTL_BIN:-}" ] || cargo build --release -p shopctl >&2
  cargo build --release -p shopctl-gateway --example bare_proxy --example mint_tokens >&2
  bin="${SHOPCTL_BIN:-$CARGO_TARGET_DIR/release/shopctl}"
  bare="$CARGO_TARGET_DIR/release/examples/bare_proxy"
  mint="$CARGO_TARGET_DIR/release/examples/mint_tokens"
  work="$(mktemp -d)"
  pids=()
  trap cleanup EXIT
}

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$work"/*.pid; do
    if [ -f "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; fi
  done
  sleep 1
  rm -rf "$work"
}

# start_upstreams USER_PORT PRODUCT_PORT: the identity service and the product service (seeded,
# trusting the identity service's keys, or the JWKS at $BENCH_JWKS when set), both ready on
# return; the product service's pid in `product_pid`.
start_upstreams() {
  local user_port="$1" product_port="$2" port
  export SHOPCTL_USER__LOG=warn SHOPCTL_PRODUCT__LOG=warn SHOPCTL_GATEWAY__LOG=warn
  jwks="${BENCH_JWKS:-http://127.0.0.1:$user_port/.well-known/jwks.json}"
  "$bin" serve user --port "$user_port" --data-dir "$work" >"$work/user.log" 2>&1 & pids+=($!)
  SHOPCTL_PRODUCT__JWKS_URL="$jwks" "$bin" serve product --port "$product_port" --data-dir "$work" \
    >"$work/product.log" 2>&1 & pids+=($!)
  product_pid=$!
  for port in "$user_port" "$product_port"; do
    for _ in $(seq 1 100); do curl -fs "127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  done
}

# customer_token BASE_URL: registers a customer through BASE_URL and prints its access token.
customer_token() {
  local account='{"email":"bench@example.com","password":"violet-harbour-kettle-9"}'
  curl -fs -X POST "$1/api/users/register" -H 'content-type: application/json' -d "$account" >/dev/null
  curl -fs -X POST "$1/api/users/login" -H 'content-type: application/json' -d "$account" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}

# minted_tokens PORT COUNT...: mints COUNT customer tokens for each COUNT into
# $work/tokens-COUNT.txt (one signing key for all), serves that key's JWKS on PORT and sets
# BENCH_JWKS to its URL, for start_upstreams and gateway_settings to trust.
minted_tokens() {
  local port="$1" count
  shift
  mkdir -p "$work/jwks"
  "$mint" "$work/jwks" "$@"
  for count in "$@"; do mv "$work/jwks/tokens-$count.txt" "$work/"; done
  command -v python3 >/dev/null || { echo "minted_tokens needs python3 to serve the JWKS" >&2; exit 1; }
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/jwks" >"$work/jwks.log" 2>&1 &
  pids+=($!)
  BENCH_JWKS="http://127.0.0.1:$port/jwks.json"
  for _ in $(seq 1 100); do curl -fs "$BENCH_JWKS" >/dev/null && break; sleep 0.1; done
  curl -fs "$BENCH_JWKS" >/dev/null || { echo "the JWKS at $BENCH_JWKS is not served" >&2; cat "$work/jwks.log" >&2; exit 1; }
}

# first_sku PRODUCT_PORT: the SKU of the first product in the catalog.
first_sku() {
  curl -fs "127.0.0.1:$1/api/products?limit=1" | sed -E 's/.*"sku":"([^"]+)".*/\1/'
}

# nginx_conf FILE LISTEN_PORT UPSTREAM_PORT WORKERS [OPTION...]: nginx proxying LISTEN_PORT to
# the product service with a keepalive pool of 64, its pid in FILE with `.pid` for `.conf`.
# Options: `foreground` runs one process in the foreground (no master), as valgrind needs;
# `edge` adds the per-request edge work the gateway does that nginx can do too: a rate limit
# per client (by bearer token; raised so that nothing is refused, as the gateway's is), a
# request id to the upstream and on the answer, `X-Forwarded-Proto`/`-Host` and the security
# headers. (nginx cannot verify a JWT; that needs its commercial edition.)
nginx_conf() {
  local file="$1" listen="$2" upstream="$3" workers="$4" head="" zone="" edge="" option
  local base="${file%.conf}"
  shift 4
  for option in "$@"; do
    case "$option" in
      foreground) head=$'daemon off;\nmaster_process off;' ;;
      edge)
        zone='limit_req_zone $http_authorization zone=clients:10m rate=1000000r/s;'
        edge='limit_req zone=clients burst=1000000 nodelay;
      proxy_set_header X-Request-Id $request_id;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      add_header X-Request-Id $request_id always;
      add_header X-Content-Type-Options nosniff always;
      add_header Referrer-Policy no-referrer always;
      add_header X-Frame-Options DENY always;
      add_header Content-Security-Policy "frame-ancestors '"'"'none'"'"'" always;' ;;
    esac
  done
  cat >"$file" <<NGINX
$head
worker_processes $workers;
pid $base.pid;
error_log $base-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $base-body;
  proxy_temp_path $base-proxy;
  upstream product { server 127.0.0.1:$upstream; keepalive 64; }
  $zone
  server {
    listen 127.0.0.1:$listen;
    location / {
      proxy_pass http://product;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
      $edge
    }
  }
}
NGINX
}

# gateway_settings USER_PORT PRODUCT_PORT: exports the gateway's settings for the benchmarks:
# the identity service's keys, both upstreams, and limits raised so that nothing is refused
# (the limiter still runs on every request).
gateway_settings() {
  export SHOPCTL_GATEWAY__JWKS_URL="${BENCH_JWKS:-http://127.0.0.1:$1/.well-known/jwks.json}" \
    SHOPCTL_GATEWAY__RATE_LIMIT_PER_MINUTE=100000000 SHOPCTL_GATEWAY__RATE_LIMIT_BURST=1000000 \
    SHOPCTL_GATEWAY__UPSTREAMS__USER="http://127.0.0.1:$1" \
    SHOPCTL_GATEWAY__UPSTREAMS__PRODUCT="http://127.0.0.1:$2"
}
