-- Shared by every bench script: counts responses by status in each wrk thread
-- (any non-2xx makes a figure invalid) and prints one machine-readable line.
local common = {}

local threads = {}
local next_id = 0

-- Runs in wrk's main state once per thread, before the run: number the threads
-- so scripts can split a pool of one-use tokens between them.
function common.setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per thread.
statuses = {}
non2xx = 0

function common.response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

-- Lines of a file whose position modulo `count` is `id`: each thread gets its
-- own share, so no token is ever sent twice.
function common.share_of_lines(path, id, count)
  local share = {}
  local position = 0
  for line in io.lines(path) do
    if line ~= "" then
      if position % count == id then
        table.insert(share, line)
      end
      position = position + 1
    end
  end
  return share
end

function common.json_string(value)
  return '"' .. value:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

function common.done(summary, latency, requests)
  local non2xx_total = 0
  local exhausted_total = 0
  local status_parts = {}
  local merged = {}
  -- Statuses travel between wrk's Lua states as tables, which wrk copies.
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
    exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  for status, count in pairs(merged) do
    table.insert(status_parts, string.format('"%d": %d', status, count))
  end
  local percentiles = {}
  for _, p in ipairs({ 50, 75, 90, 95, 99, 99.9 }) do
    table.insert(percentiles, string.format('"%s": %d', tostring(p), latency:percentile(p)))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d}, "non2xx": %d, "exhausted": %d, "statuses": {%s}, '
      .. '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, '
      .. '"percentiles": {%s}}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    non2xx_total, exhausted_total, table.concat(status_parts, ", "),
    latency.min, latency.mean, latency.max, latency.stdev,
    table.concat(percentiles, ", ")
  ))
end

return common
