"""A real SMTP server for the mail tests (aiosmtpd): TLS and AUTH required, messages kept as files.

    python3 smtp_server.py --mode starttls|smtps --cert CERT --key KEY --user U --password P --out DIR

starttls: plain connection that must upgrade with STARTTLS before anything else, AUTH only after TLS.
smtps:    TLS from the first byte (implicit TLS), AUTH required.
Each accepted message is written to DIR/NNNN.eml. Prints "READY <port>" once it listens, then
serves until stdin closes (so it dies with the test that started it).
"""

import argparse
import logging
import os
import socket
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keep:
    def __init__(self, out):
        self.out = out
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            path = os.path.join(self.out, "%04d.eml" % self.count)
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK kept"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
        print("AUTH %s %s" % (mechanism, "accepted" if ok else "refused"), file=sys.stderr, flush=True)
        return AuthResult(success=ok, handled=False)

    return check


def main():
    # aiosmtpd warns about AUTH without STARTTLS (implicit TLS is TLS all the same) and about its
    # own deprecations; the test output needs neither.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["starttls", "smtps"], required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    common = dict(
        hostname="127.0.0.1",
        port=port,
        auth_required=True,
        authenticator=authenticator(a.user.encode(), a.password.encode()),
    )
    if a.mode == "starttls":
        ctl = Controller(Keep(a.out), tls_context=ctx, require_starttls=True, auth_require_tls=True, **common)
    else:
        # The whole connection is TLS, which aiosmtpd's STARTTLS-based check cannot see.
        ctl = Controller(Keep(a.out), ssl_context=ctx, auth_require_tls=False, **common)
    ctl.start()
    print("READY %d" % port, flush=True)
    sys.stdin.read()
    ctl.stop()


if __name__ == "__main__":
    main()
