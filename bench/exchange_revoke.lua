-- API Login as Client cycles: token exchange -> revoke.
--
-- Run with one connection per thread (-t N -c N): each thread is one staff member with an API
-- key of their own, because a staff member has at most one live impersonation. Arguments after
-- `--`:
--   KEYS_FILE [CLIENT_ID]
-- KEYS_FILE has one staff API key per line (thread k uses line k).
--
-- Per thread:
--   exchange  POST /oauth/token (grant_type token-exchange, scope portal:write)  expect 200 + access_token
--   revoke    POST /oauth/revoke with that token                                 expect 200 -> one completed cycle
--
--   wrk -t32 -c32 -d10s --latency -s bench/exchange_revoke.lua http://127.0.0.1:18080/ -- keys.txt 1

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

setup = common.setup
done = common.done

local FORM = "application/x-www-form-urlencoded"
local state = "exchange"
local exchange_req
local token

function init(args)
   local path, client = args[1], args[2] or "1"
   assert(path, "usage: -- KEYS_FILE [CLIENT_ID]")
   local n, key = 0, nil
   for line in io.lines(path) do
      n = n + 1
      if n == id then key = line:match("^(%S+)") end
   end
   assert(key, "no API key for thread " .. tostring(id) .. " in " .. path .. " (run with -t N -c N)")
   exchange_req = wrk.format("POST", "/oauth/token", { ["Content-Type"] = FORM },
      "grant_type=" .. common.urlencode("urn:ietf:params:oauth:grant-type:token-exchange") ..
      "&actor_token=" .. common.urlencode(key) ..
      "&actor_token_type=" .. common.urlencode("urn:behalf:token-type:api-key") ..
      "&subject_token=" .. client ..
      "&subject_token_type=" .. common.urlencode("urn:behalf:token-type:client-id") ..
      "&scope=portal:write")
end

function request()
   if state == "revoke" then
      return wrk.format("POST", "/oauth/revoke", { ["Content-Type"] = FORM }, "token=" .. common.urlencode(token))
   end
   return exchange_req
end

function response(status, headers, body)
   common.count(status)
   if state == "exchange" then
      local t = status == 200 and body and string.match(body, '"access_token":"([^"]+)"')
      if t then
         token = t
         state = "revoke"
         return
      end
   elseif state == "revoke" and status == 200 then
      cycles = cycles + 1
      state = "exchange"
      return
   end
   common.unexpected()
   state = "exchange"
end
