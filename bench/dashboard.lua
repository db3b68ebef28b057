-- GET /dashboard with the session cookie given by `-H "Cookie: behalf_client=..."`.
-- Used by both dashboard-own (jane's own session) and dashboard-impersonated
-- (admin logged in as jane). Every response other than 200 counts as unexpected,
-- e.g. a 303 to /login would mean the session was not accepted.
--
--   wrk -t2 -c32 -d10s --latency -H "Cookie: behalf_client=TOKEN" \
--       -s bench/dashboard.lua http://127.0.0.1:18080/dashboard

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

setup = common.setup
done = common.done

function response(status, headers, body)
   common.count(status)
   if status ~= 200 then
      common.unexpected()
   end
end
