-- wrk script for tests/bench/checkout.sh: each connection is one customer (its own token, one
-- connection per thread) that alternates "add to cart" and "check out", so every second
-- request is a checkout of one unit. Idempotency keys are unique per thread and request.
-- A checkout counts as an order only when the order it answers with is `confirmed`: a cancelled
-- order also answers 201, and a checkout still running answers 202 (`pending`). Every other
-- answer is a failure; the first few of each thread are printed with their status and body.
--
-- Which request comes next is decided by the answers, not by counting request() calls: wrk
-- calls request() once more on the first thread's script before the run starts (to count
-- pipelined requests), which would put that thread one step out of phase and make its first
-- real request a checkout of an empty cart.
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("TOKEN_" .. id)
  sku = os.getenv("SKU")
  checking_out = false
  keys = 0
  checkouts = 0
  cancelled = 0
  pending = 0
  failed = 0
  shown = 0
end

function request()
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  if not checking_out then
    return wrk.format("POST", "/api/cart/items", headers,
      '{"sku":"' .. sku .. '","quantity":1}')
  end
  keys = keys + 1
  headers["Idempotency-Key"] = "bench-" .. id .. "-" .. keys
  return wrk.format("POST", "/api/orders", headers,
    '{"shipping_address":{"name":"Bench","line1":"1 Main St","city":"Springfield",' ..
    '"postal_code":"12345","country":"US"},"payment":{"card_number":"4242424242424242",' ..
    '"exp_month":12,"exp_year":2040,"cvc":"123"}}')
end

local function show(what, status, body)
  if shown < 3 then
    shown = shown + 1
    io.stderr:write(string.format("%s (thread %d): %d %s\n", what, id, status,
      string.sub(body or "", 1, 300)))
  end
end

function response(status, headers, body)
  if not checking_out then
    checking_out = true
    if status ~= 200 and status ~= 201 then
      failed = failed + 1
      show("add to cart failed", status, body)
    end
    return
  end
  checking_out = false
  local state = string.match(body or "", '"status"%s*:%s*"(%a+)"')
  if (status == 201 or status == 200) and state == "confirmed" then
    checkouts = checkouts + 1
  elseif status == 202 or state == "pending" then
    pending = pending + 1
    show("checkout still pending", status, body)
  elseif state == "cancelled" then
    cancelled = cancelled + 1
    show("checkout cancelled", status, body)
  else
    failed = failed + 1
    show("checkout failed", status, body)
  end
end

function done(summary, latency, requests)
  local ok, cancelled, pending, bad = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("checkouts")
    cancelled = cancelled + t:get("cancelled")
    pending = pending + t:get("pending")
    bad = bad + t:get("failed")
  end
  io.write(string.format("CHECKOUTS %d CANCELLED %d PENDING %d FAILED %d SECONDS %.2f\n", ok,
    cancelled, pending, bad, summary.duration / 1e6))
end
