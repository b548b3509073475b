-- GET the URL given to wrk (ceiling, me, staff list pages), optionally with a
-- bearer token taken in turn from a file of access tokens (args[1]).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local tokens = {}
local index = 0

function init(args)
  if args[1] and args[1] ~= "" then
    -- Access tokens are reusable: every thread gets them all, from its own start.
    tokens = common.share_of_lines(args[1], 0, 1)
    index = thread_id % #tokens
  end
end

function request()
  if #tokens == 0 then
    return wrk.format("GET", nil, {})
  end
  index = index % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[index] })
end
