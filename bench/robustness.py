#!/usr/bin/env python3
"""Malformed-request run against a Behalf server on loopback (stdlib only, bounded in count and time).

    python3 bench/robustness.py --base http://127.0.0.1:18090 --count 20000 --seconds 600

Signs in as staff, as a client and as staff logged in as that client, then sends COUNT malformed
requests over raw sockets, CONCURRENCY at a time: random and real paths with NUL, invalid UTF-8,
huge and negative ids; queries and forms with duplicated, missing, NUL, invalid UTF-8 and huge
fields; wrong content types; bodies just over the 1 MiB limit; bad cookies; each signed in as one
of the three identities or not at all. Prints the answers by status as JSON and exits 1 if any
answer is 500 or above other than 503, or if nothing could be sent.
"""
import argparse
import asyncio
import json
import random
import re
import sys
import time
import urllib.parse

GET_ROUTES = [
    "/", "/login", "/dashboard", "/services", "/invoices", "/invoices/{id}", "/tickets", "/tickets/{id}",
    "/orders", "/orders/{id}", "/account", "/account/access", "/account/payment-methods", "/shop", "/cart",
    "/files", "/files/{id}/download", "/subscriptions", "/subscriptions/{id}", "/tasks", "/tasks/{id}",
    "/admin", "/admin/login", "/admin/clients", "/admin/clients/{id}", "/admin/impersonations",
    "/admin/impersonations.csv", "/admin/activity", "/admin/settings", "/admin/roles", "/admin/staff",
    "/admin/stores", "/admin/tickets/{id}", "/admin/orders/{id}", "/admin/invoices/{id}", "/admin/outbox",
    "/admin/clients/{id}/files", "/admin/clients/{id}/subscriptions", "/admin/clients/{id}/tasks",
    "/admin/tasks/{id}", "/admin/files/{id}/download", "/admin/2fa/setup", "/healthz", "/metrics",
    "/static/app.css", "/static/stores.css",
]
# State-changing routes a signed-in fuzz may hit. Sign-out, return, account deletion and staff
# disabling are left out so the three sessions live through the run.
POST_ROUTES = [
    "/login", "/admin/login", "/tickets", "/tickets/{id}/replies", "/account", "/account/consent",
    "/account/end-support-access", "/account/payment-methods", "/account/payment-methods/{id}/delete",
    "/shop/store", "/cart/items", "/cart/items/{id}", "/cart/items/{id}/remove", "/checkout",
    "/invoices/{id}/pay", "/files", "/files/{id}/delete", "/subscriptions/{id}/cancel",
    "/subscriptions/{id}/resume", "/tasks/{id}/comments", "/tasks/{id}/done", "/account/access/seen",
    "/admin/clients/{id}/impersonate", "/admin/clients/{id}/consent", "/admin/clients/{id}/modules",
    "/admin/clients/{id}/stores", "/admin/impersonations/{id}/end", "/admin/settings", "/admin/roles",
    "/admin/roles/new", "/admin/staff", "/admin/staff/{id}/role", "/admin/clients/{id}/files",
    "/admin/files/{id}/delete", "/admin/clients/{id}/tasks", "/admin/tasks/{id}/comments",
    "/admin/tasks/{id}/done", "/admin/tasks/{id}/reopen", "/admin/outbox/{id}/retry", "/admin/2fa/setup",
    "/admin/login/2fa",
]
FIELDS = ["csrf_token", "email", "password", "subject", "body", "name", "phone", "consent", "for", "mode",
          "reason", "store", "next", "quantity", "product_id", "card_number", "code", "key", "value", "role",
          "q", "page", "status", "group", "actor", "client", "staff", "from", "to", "state", "title"]
IDS = ["1", "2", "0", "-1", "-9223372036854775808", "9223372036854775807", "99999999999999999999999",
       "1e3", "0x10", "abc", "%00", "%ff", "1%00", "..", "%2e%2e", "1.5", " 1", "", "１"]
TEXTS = ["", "x", "%00", "a%00b", "%ff%fe", "%c3%28", "%ed%a0%80", "\u00e9", "<script>alert(1)</script>",
         "' OR 1=1 --", "%", "%zz", "+", "&", "=", "a" * 600, "b" * 70000, "-1", "99999999999999999999",
         "1e309", "NaN", "\\", "/../../etc/passwd", "%0d%0aSet-Cookie:%20x=y", "read_only", "full", "allow"]
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain", "",
                 "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=xyz",
                 "application/x-www-form-urlencoded; charset=latin1", "application/xml", "\x7f"]
BODY_LIMIT = 1024 * 1024


def pick_path(rng):
    route = rng.choice(GET_ROUTES + POST_ROUTES)
    path = route.replace("{id}", rng.choice(IDS))
    r = rng.random()
    if r < 0.08:
        path = "/" + "".join(rng.choice("abc%/.0\\") for _ in range(rng.randint(1, 40)))
    elif r < 0.12:
        path += "%00"
    elif r < 0.16:
        path += "/%ff%fe"
    elif r < 0.18:
        path = path + "/" + "x" * rng.randint(1000, 9000)
    elif r < 0.20:
        path = "//" + path
    return path


def pick_query(rng):
    if rng.random() < 0.5:
        return ""
    pairs = []
    for _ in range(rng.randint(1, 5)):
        k = rng.choice(FIELDS + ["page", "page", "q"])
        v = rng.choice(TEXTS + IDS)
        pairs.append(f"{k}={v[:3000]}")
    return "?" + "&".join(pairs)


def pick_form(rng, csrf):
    pairs = []
    if csrf and rng.random() < 0.7:
        pairs.append(f"csrf_token={csrf}")
    for _ in range(rng.randint(0, 6)):
        k = rng.choice(FIELDS)
        v = rng.choice(TEXTS + IDS)
        pairs.append(f"{k}={v}")
        if rng.random() < 0.2:
            pairs.append(f"{k}={rng.choice(TEXTS)}")  # duplicated field
    body = "&".join(pairs).encode("utf-8", "surrogatepass")
    r = rng.random()
    if r < 0.05:
        body += b"&x=" + bytes([0x80, 0xFF, 0x00, 0xC3])  # raw invalid UTF-8 and NUL
    elif r < 0.08:
        body = b"x=" + b"a" * (BODY_LIMIT + 1 - 2)  # just over the limit
    elif r < 0.10:
        body = b'{"csrf_token": 1, "body": [1,2,3]}'
    return body


def build(rng, identity):
    cookie = ""
    csrf = None
    if identity is not None:
        cookie, csrf = identity["cookie"], identity["csrf"]
    r = rng.random()
    if r < 0.05:
        cookie = rng.choice(["behalf_staff=garbage", "behalf_client=" + "z" * 5000, "behalf_csrf=x",
                             "behalf_staff=%00", "behalf_client=; behalf_client=abc", "=;;;==",
                             "behalf_csrf=" + "0" * 64])
    method = "POST" if rng.random() < 0.45 else rng.choice(["GET", "GET", "GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
    if method == "POST":
        route = rng.choice(POST_ROUTES).replace("{id}", rng.choice(IDS[:6] + IDS))
        target = route + (pick_query(rng) if rng.random() < 0.2 else "")
    else:
        target = pick_path(rng) + pick_query(rng)
    headers = [f"Host: {HOST}", "Connection: close", "User-Agent: behalf-robustness"]
    if cookie:
        headers.append(f"Cookie: {cookie}")
    if rng.random() < 0.1:
        headers.append("Origin: " + rng.choice([f"http://{HOST}", "http://evil.example", "null", "%%%"]))
    body = b""
    if method in ("POST", "PUT") or rng.random() < 0.05:
        body = pick_form(rng, csrf)
        ct = "application/x-www-form-urlencoded" if rng.random() < 0.7 else rng.choice(CONTENT_TYPES)
        if ct:
            headers.append(f"Content-Type: {ct}")
        if rng.random() < 0.03:
            headers.append("Content-Length: " + rng.choice(["-1", "abc", "99999999999999999999"]))
        else:
            headers.append(f"Content-Length: {len(body)}")
    head = f"{method} {target} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n"
    raw = head.encode("utf-8", "surrogatepass")
    if rng.random() < 0.03:
        # invalid UTF-8 and a NUL straight in the request line
        raw = raw.replace(b" HTTP/1.1", b"\xff\xfe%00\x00 HTTP/1.1", 1)
    return raw + body, method, target


async def send(raw, timeout):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), timeout)
    except Exception:
        return "connect-error"
    try:
        writer.write(raw)
        await asyncio.wait_for(writer.drain(), timeout)
        line = await asyncio.wait_for(reader.readline(), timeout)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", line)
        status = m.group(1).decode() if m else ("closed" if not line else "garbled")
        # Drain the rest so the server never sees a reset before it has answered.
        try:
            await asyncio.wait_for(reader.read(-1), timeout)
        except Exception:
            pass
        return status
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except asyncio.TimeoutError:
        return "timeout"
    except Exception as e:  # noqa: BLE001 - reported, never hidden
        return "error:" + type(e).__name__
    finally:
        writer.close()


async def run(args, identities):
    rng = random.Random(args.seed)
    counts = {}
    bad = []
    deadline = time.monotonic() + args.seconds
    queue = asyncio.Queue()
    for i in range(args.count):
        queue.put_nowait(i)
    sent = 0
    signed = {"none": 0, "staff": 0, "client": 0, "impersonating": 0}

    async def worker():
        nonlocal sent
        while time.monotonic() < deadline:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            who = rng.choice(["none", "staff", "client", "impersonating"])
            signed[who] += 1
            raw, method, target = build(rng, identities.get(who))
            status = await send(raw, args.timeout)
            sent += 1
            counts[status] = counts.get(status, 0) + 1
            if status.isdigit() and int(status) >= 500 and status != "503" and len(bad) < 20:
                bad.append(f"{status} {who} {method} {target[:200]}")

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return sent, counts, bad, signed


def sign_in(base, side, email, password):
    import http.client
    path = "/admin/login" if side == "staff" else "/login"
    name = "behalf_staff" if side == "staff" else "behalf_client"
    c = http.client.HTTPConnection(HOST, PORT, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    page = r.read().decode()
    csrf_cookie = re.search(r"behalf_csrf=([0-9a-f]{64})", r.getheader("set-cookie") or "").group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token})
    c.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                   "Cookie": f"behalf_csrf={csrf_cookie}"})
    r = c.getresponse()
    r.read()
    if r.status != 303:
        raise SystemExit(f"robustness.py: sign-in of {email} answered {r.status}")
    return re.search(name + r"=([0-9a-f]+)", r.getheader("set-cookie")).group(1)


def page_csrf(cookie, path):
    import http.client
    c = http.client.HTTPConnection(HOST, PORT, timeout=30)
    c.request("GET", path, headers={"Cookie": cookie})
    r = c.getresponse()
    return re.search(r'name="csrf_token" value="([^"]+)"', r.read().decode()).group(1)


def main():
    global HOST, PORT
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True)
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--seed", type=int, default=9)
    args = p.parse_args()
    u = urllib.parse.urlparse(args.base)
    HOST, PORT = u.hostname, u.port
    if HOST not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("robustness.py: loopback only")
    staff = sign_in(args.base, "staff", "admin@example.com", "behalf-demo")
    client = sign_in(args.base, "client", "bob@example.com", "behalf-demo")
    identities = {
        "staff": {"cookie": f"behalf_staff={staff}", "csrf": page_csrf(f"behalf_staff={staff}", "/admin")},
        "client": {"cookie": f"behalf_client={client}", "csrf": page_csrf(f"behalf_client={client}", "/dashboard")},
    }
    # Staff logged in as Jane, in full mode, in a browser of its own.
    imp_staff = sign_in(args.base, "staff", "superadmin@example.com", "behalf-demo")
    import http.client
    c = http.client.HTTPConnection(HOST, PORT, timeout=30)
    scsrf = page_csrf(f"behalf_staff={imp_staff}", "/admin/clients/1")
    c.request("POST", "/admin/clients/1/impersonate", urllib.parse.urlencode({"csrf_token": scsrf, "mode": "full"}),
              {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"behalf_staff={imp_staff}"})
    r = c.getresponse()
    r.read()
    imp = re.search(r"behalf_client=([0-9a-f]+)", r.getheader("set-cookie") or "")
    if r.status != 303 or not imp:
        raise SystemExit(f"robustness.py: Login as Client answered {r.status}")
    cookie = f"behalf_client={imp.group(1)}; behalf_staff={imp_staff}"
    identities["impersonating"] = {"cookie": cookie, "csrf": page_csrf(cookie, "/dashboard")}
    started = time.monotonic()
    sent, counts, bad, signed = asyncio.run(run(args, identities))
    report = {
        "requests": sent,
        "seconds": round(time.monotonic() - started, 1),
        "by_status": dict(sorted(counts.items())),
        "by_identity": signed,
        "server_errors_not_503": sum(v for k, v in counts.items() if k.isdigit() and int(k) >= 500 and k != "503"),
        "examples_of_server_errors": bad,
    }
    print(json.dumps(report, indent=1))
    if sent == 0 or report["server_errors_not_503"] > 0:
        sys.exit(1)


HOST, PORT = "127.0.0.1", 0
if __name__ == "__main__":
    main()
