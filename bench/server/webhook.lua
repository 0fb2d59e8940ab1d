-- wrk script for bench/server/run.sh: webhook ingest (issue #5), method in docs/performance.md.
--
-- Every request is POST <the URL's path> (/webhooks/shopify) with the exact bytes of a sample
-- body and the headers Shopify sends. Environment (set by run.sh):
--   B2B_BENCH_WEBHOOK_BODY   file with the body, sent byte for byte
--   B2B_BENCH_WEBHOOK_HMAC   base64 HMAC-SHA256 of that body with the server's client secret
--                            (over the body only, so one value serves every request)
--   B2B_BENCH_WEBHOOK_SHOP   X-Shopify-Shop-Domain (the server's B2B_SHOPIFY_SHOP)
--   B2B_BENCH_WEBHOOK_TOPIC  X-Shopify-Topic (default draft_orders/create)
-- X-Shopify-Webhook-Id (and X-Shopify-Event-Id) is fresh for every request:
-- "bench-<12 hex digits, random per wrk run>-<thread>-<counter>", so no delivery is a duplicate
-- and the rows of one wrk run can be counted in the inbox afterwards.
--
-- done() prints wrk.lua's "BENCH ..." line and then "WEBHOOK run=<run prefix> sent=<requests
-- generated>", both parsed by run.sh.

-- done() and the BENCH line are wrk.lua's (it defines nothing else without B2B_BENCH_IDS)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk.lua")

-- ---- main state: one run id for the wrk process, a prefix for each thread ----
local threads = {}
local run_id = nil

function setup(thread)
    if run_id == nil then
        local f = assert(io.open("/dev/urandom", "rb"))
        local raw = f:read(6)
        f:close()
        run_id = "bench-" .. (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
    end
    threads[#threads + 1] = thread
    thread:set("id_prefix", run_id .. "-" .. #threads .. "-")
end

-- ---- thread states ----
sent = 0 -- global: read by done() through thread:get()
local head, middle, tail -- the request is head .. id .. middle .. id .. tail

local function env(name, default)
    local v = os.getenv(name)
    if v == nil or v == "" then
        assert(default, name .. " is not set")
        return default
    end
    return v
end

function init(args)
    local f = assert(io.open(env("B2B_BENCH_WEBHOOK_BODY"), "rb"))
    local body = f:read("*a")
    f:close()
    assert(#body > 0, "empty webhook body")
    local marker = "\1WEBHOOK-ID\1"
    local headers = {
        ["Host"] = wrk.headers["Host"],
        ["Content-Type"] = "application/json",
        ["X-Shopify-Topic"] = env("B2B_BENCH_WEBHOOK_TOPIC", "draft_orders/create"),
        ["X-Shopify-Hmac-Sha256"] = env("B2B_BENCH_WEBHOOK_HMAC"),
        ["X-Shopify-Shop-Domain"] = env("B2B_BENCH_WEBHOOK_SHOP"),
        ["X-Shopify-API-Version"] = "2026-01",
        ["X-Shopify-Webhook-Id"] = marker,
        ["X-Shopify-Event-Id"] = marker,
        ["X-Shopify-Triggered-At"] = "2026-01-05T10:00:00.000Z",
    }
    -- wrk.format adds Content-Length; the two markers are cut out once, here, so that request()
    -- only joins five strings
    local req = wrk.format("POST", wrk.path, headers, body)
    local a1, a2 = req:find(marker, 1, true)
    local b1, b2 = req:find(marker, a2 + 1, true)
    assert(a1 and b1 and not req:find(marker, b2 + 1, true), "webhook id marker not found")
    head, middle, tail = req:sub(1, a1 - 1), req:sub(a2 + 1, b1 - 1), req:sub(b2 + 1)
end

function request()
    sent = sent + 1
    local id = id_prefix .. sent
    return head .. id .. middle .. id .. tail
end

-- ---- main state again: the summary ----
local bench_done = done

function done(summary, latency, requests)
    bench_done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do
        total = total + t:get("sent")
    end
    io.write(string.format("WEBHOOK run=%s sent=%d\n", run_id or "", total))
end
