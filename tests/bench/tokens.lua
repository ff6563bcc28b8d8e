-- wrk script for tests/bench/gateway.sh: every request carries a bearer token drawn at random
-- from the file named by the TOKENS environment variable (one token a line, as
-- `services/gateway/examples/mint_tokens.rs` writes them), so a gateway sees many customers.
local tokens = {}

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do
    tokens[#tokens + 1] = "Bearer " .. line
  end
  math.randomseed(os.time() + #tokens + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 1000)
end

function request()
  return wrk.format(nil, nil, { ["Authorization"] = tokens[math.random(#tokens)] })
end
