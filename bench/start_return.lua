-- Full Login as Client cycles: start -> dashboard -> return.
--
-- Run with one connection per thread (-t N -c N): each thread is one staff member, because a
-- staff member has at most one live impersonation. Arguments after `--`:
--   STAFF_FILE [CLIENT_ID]
-- STAFF_FILE has one line per thread: "STAFF_COOKIE STAFF_CSRF" (thread k uses line k).
--
-- Per thread, a small state machine:
--   start     POST /admin/clients/{id}/impersonate  (mode=full)   expect 303 + Set-Cookie behalf_client
--   dashboard GET  /dashboard with that cookie                    expect 200, read the portal CSRF
--   return    POST /impersonation/return                          expect 303 -> one completed cycle
-- Any other status (or a missing cookie / token) counts as unexpected and restarts the cycle;
-- a new start ends the staff member's previous impersonation, so the state is always recoverable.
--
--   wrk -t32 -c32 -d10s --latency -s bench/start_return.lua http://127.0.0.1:18080/ -- staff.txt 1

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

setup = common.setup
done = common.done

local FORM = "application/x-www-form-urlencoded"
local state = "start"
local start_req
local client_cookie, portal_csrf

function init(args)
   local path, client = args[1], args[2] or "1"
   assert(path, "usage: -- STAFF_FILE [CLIENT_ID]")
   local n, staff_cookie, staff_csrf = 0, nil, nil
   for line in io.lines(path) do
      n = n + 1
      if n == id then
         staff_cookie, staff_csrf = line:match("^(%S+)%s+(%S+)")
      end
   end
   assert(staff_cookie, "no staff credentials for thread " .. tostring(id) .. " in " .. path ..
      " (need one line per thread; run with -t N -c N)")
   start_req = wrk.format("POST", "/admin/clients/" .. client .. "/impersonate",
      { ["Cookie"] = "behalf_staff=" .. staff_cookie, ["Content-Type"] = FORM },
      "csrf_token=" .. common.urlencode(staff_csrf) .. "&mode=full")
end

function request()
   if state == "dashboard" then
      return wrk.format("GET", "/dashboard", { ["Cookie"] = "behalf_client=" .. client_cookie })
   elseif state == "return" then
      return wrk.format("POST", "/impersonation/return",
         { ["Cookie"] = "behalf_client=" .. client_cookie, ["Content-Type"] = FORM },
         "csrf_token=" .. common.urlencode(portal_csrf))
   end
   return start_req
end

function response(status, headers, body)
   common.count(status)
   if state == "start" then
      local token = status == 303 and common.set_cookie_value(headers, "behalf_client")
      if token then
         client_cookie = token
         state = "dashboard"
         return
      end
   elseif state == "dashboard" then
      local csrf = status == 200 and common.csrf_from(body)
      if csrf then
         portal_csrf = csrf
         state = "return"
         return
      end
   elseif state == "return" then
      if status == 303 then
         cycles = cycles + 1
         state = "start"
         return
      end
   end
   -- out of sync: count it and begin a fresh cycle
   common.unexpected()
   state = "start"
end
