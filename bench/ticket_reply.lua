-- POST /tickets/{id}/replies while a staff member is logged in as the client in full mode.
-- Arguments after `--`: CLIENT_COOKIE PORTAL_CSRF [TICKET_ID]
-- Each request is answered 303 (to /tickets/{id}); any other status counts as unexpected.
--
--   wrk -t2 -c32 -d10s --latency -s bench/ticket_reply.lua http://127.0.0.1:18080/ -- TOKEN CSRF 1

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

setup = common.setup
done = common.done

function init(args)
   local cookie, csrf, ticket = args[1], args[2], args[3] or "1"
   assert(cookie and csrf, "usage: -- CLIENT_COOKIE PORTAL_CSRF [TICKET_ID]")
   wrk.method = "POST"
   wrk.path = "/tickets/" .. ticket .. "/replies"
   wrk.headers["Cookie"] = "behalf_client=" .. cookie
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   wrk.body = "csrf_token=" .. common.urlencode(csrf) ..
      "&body=" .. common.urlencode("Benchmark reply sent by wrk (bench/ticket_reply.lua).")
end

function response(status, headers, body)
   common.count(status)
   if status ~= 303 then
      common.unexpected()
   end
end
