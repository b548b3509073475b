-- POST /api/v1/auth/signin as a random seeded user each time (seed_users names
-- them <prefix>0..<prefix>N-1, one shared password).
-- args: prefix, N, password.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local prefix, count, password_json

function init(args)
  prefix, count = args[1], tonumber(args[2])
  password_json = common.json_string(args[3])
  math.randomseed(os.time() * 100 + thread_id)
end

function request()
  local username = prefix .. math.random(0, count - 1)
  local body = '{"username": ' .. common.json_string(username)
    .. ', "password": ' .. password_json .. "}"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
