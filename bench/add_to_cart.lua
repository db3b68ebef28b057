-- Cart writes while a staff member is logged in as the client in full mode: requests alternate
-- between adding one of the product (POST /cart/items) and setting the line back to one
-- (POST /cart/items/{product_id}, quantity=1), so the line never reaches its 1,000 cap however
-- long the run, and never disappears under a concurrent connection (run.sh adds it once first).
-- Every request writes the cart and an activity-log entry and is answered 303 (to /cart); any
-- other status counts as unexpected.
-- Arguments after `--`: CLIENT_COOKIE PORTAL_CSRF [PRODUCT_ID]
--
--   wrk -t2 -c32 -d10s --latency -s bench/add_to_cart.lua http://127.0.0.1:18080/ -- TOKEN CSRF 1

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

setup = common.setup
done = common.done

function init(args)
   local cookie, csrf, product = args[1], args[2], args[3] or "1"
   assert(cookie and csrf, "usage: -- CLIENT_COOKIE PORTAL_CSRF [PRODUCT_ID]")
   local headers = {
      ["Cookie"] = "behalf_client=" .. cookie,
      ["Content-Type"] = "application/x-www-form-urlencoded",
   }
   local token = "csrf_token=" .. common.urlencode(csrf)
   add = wrk.format("POST", "/cart/items", headers, token .. "&product_id=" .. product .. "&quantity=1")
   reset = wrk.format("POST", "/cart/items/" .. product, headers, token .. "&quantity=1")
   n = 0
end

function request()
   n = n + 1
   if n % 2 == 1 then return add else return reset end
end

function response(status, headers, body)
   common.count(status)
   if status ~= 303 then
      common.unexpected()
   end
end
