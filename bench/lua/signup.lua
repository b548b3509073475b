-- POST /api/v1/auth/signup with a new address every time: <tag>t<thread>n<i>.
-- args: tag (unique per run, so reruns never collide), password.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local tag, password_json
local sent = 0

function init(args)
  tag = args[1]
  password_json = common.json_string(args[2])
end

function request()
  sent = sent + 1
  local username = tag .. "t" .. thread_id .. "n" .. sent
  local body = '{"email": ' .. common.json_string(username .. "@example.com")
    .. ', "username": ' .. common.json_string(username)
    .. ', "password": ' .. password_json .. "}"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
