-- wrk script for bench/server/run.sh.
--
-- Always: done() prints one machine-readable "BENCH ..." line (requests/s, latency percentiles
-- in ms, error counts) that run.sh parses.
-- With B2B_BENCH_IDS=FILE (one public id a line) and B2B_BENCH_TOKEN=TOKEN in the environment:
-- every request is GET /staff/api/orders/<a random id from FILE> with the staff bearer token.
-- Without them wrk sends its fixed request for the URL it was given (/healthz, nginx's /).
-- The choice is made when the script is loaded, because wrk decides then whether request() is
-- dynamic.

local ids_file = os.getenv("B2B_BENCH_IDS")

if ids_file and ids_file ~= "" then
    local ids = {}
    local n = 0
    local counter = 0

    function setup(thread)
        counter = counter + 1
        thread:set("thread_no", counter)
    end

    function init(args)
        for line in io.lines(ids_file) do
            if #line > 0 then
                n = n + 1
                ids[n] = line
            end
        end
        assert(n > 0, "no public ids in " .. ids_file)
        -- a different sequence in each thread
        math.randomseed(os.time() * 1000 + (thread_no or 0) * 7919)
        wrk.headers["Authorization"] = "Bearer " .. (os.getenv("B2B_BENCH_TOKEN") or "")
    end

    function request()
        return wrk.format("GET", "/staff/api/orders/" .. ids[math.random(n)])
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
        "BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
        "max_ms=%.3f err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
        summary.requests, secs, summary.requests / secs,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000,
        e.connect, e.read, e.write, e.status, e.timeout))
end
