-- wrk script for tests/bench/checkout.sh: each connection is one customer (its own token, one
-- connection per thread) that alternates "add to cart" and "check out", so every second
-- request is a checkout of one unit. Idempotency keys are unique per thread and request.
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
  n = 0
  checkouts = 0
  failed = 0
end

function request()
  n = n + 1
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  if n % 2 == 1 then
    return wrk.format("POST", "/api/cart/items", headers,
      '{"sku":"' .. sku .. '","quantity":1}')
  end
  headers["Idempotency-Key"] = "bench-" .. id .. "-" .. n
  return wrk.format("POST", "/api/orders", headers,
    '{"shipping_address":{"name":"Bench","line1":"1 Main St","city":"Springfield",' ..
    '"postal_code":"12345","country":"US"},"payment":{"card_number":"4242424242424242",' ..
    '"exp_month":12,"exp_year":2040,"cvc":"123"}}')
end

function response(status, headers, body)
  if n % 2 == 0 then
    if status == 201 then checkouts = checkouts + 1 else failed = failed + 1 end
  end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("checkouts")
    bad = bad + t:get("failed")
  end
  io.write(string.format("CHECKOUTS %d FAILED %d SECONDS %.2f\n", ok, bad,
    summary.duration / 1e6))
end
