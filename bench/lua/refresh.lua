-- POST /api/v1/auth/token/refresh, each pre-minted refresh token exactly once:
-- rotation revokes the presented token, and presenting it again would be taken
-- for theft (every session of that user revoked). Threads split the pool.
-- When a thread runs out it sends an empty token (a 400), so an undersized pool
-- shows up as errors and "exhausted", never as a valid figure.
-- args: file of refresh tokens (one a line), number of wrk threads, and the
-- body's field name (default "refresh_token"; djoser/simplejwt: "refresh").
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local tokens = {}
local used = 0
local field = "refresh_token"
exhausted = 0

function init(args)
  tokens = common.share_of_lines(args[1], thread_id, tonumber(args[2]))
  field = args[3] or field
end

function request()
  local token = ""
  if used < #tokens then
    used = used + 1
    token = tokens[used]
  else
    exhausted = exhausted + 1
  end
  local body = "{" .. common.json_string(field) .. ": " .. common.json_string(token) .. "}"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
