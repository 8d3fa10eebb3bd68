#!/usr/bin/env python3
"""A real SMTP server for baken's delivery tests, on 127.0.0.1 only.

Runs aiosmtpd (installed in the test venv by scripts/test-venv.sh) and saves every message
it accepts into DIR as <n>.eml (the bytes received after DATA) and <n>.json, written last:

    {"mail_from": "...", "rcpt_tos": ["..."], "auth_user": "..." or null,
     "starttls": bool, "tls": bool}

("starttls": the session was upgraded with STARTTLS; "tls": it was encrypted either way.)

Prints "READY <port>" on stdout once it listens. Options:

    --port N                 listen on N (default 0: the OS picks a free port)
    --auth USER:PASSWORD     require AUTH (PLAIN or LOGIN) with these credentials; AUTH is
                             allowed without TLS, so the plain-text case can be tested
    --starttls CERT KEY      offer STARTTLS with this PEM certificate and key
    --tls CERT KEY           speak TLS from the first byte (implicit TLS, as on port 465)
    --reject RCPT            answer 550 to RCPT TO for this address (repeatable)
    --exit-on-stdin-eof      exit when stdin closes, so a crashed test leaves no server

Used by baken_deliver::testing::SmtpSink; can also be run by hand:
    target/test-venv/bin/python tests/support/smtp_sink.py /tmp/mail
"""

import argparse
import asyncio
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    """aiosmtpd handler that writes each accepted message to a directory."""

    def __init__(self, outdir, reject):
        self.outdir = outdir
        self.reject = {r.lower() for r in reject}
        existing = [int(f[:-5]) for f in os.listdir(outdir) if f.endswith(".json") and f[:-5].isdigit()]
        self.count = max(existing, default=0)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        raw = envelope.original_content or envelope.content
        auth_user = None
        if session.authenticated and session.auth_data is not None:
            login = getattr(session.auth_data, "login", None)
            if isinstance(login, bytes):
                login = login.decode("utf-8", "replace")
            auth_user = login
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_user": auth_user,
            "starttls": session.ssl is not None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        self._write(f"{n}.eml", raw)
        self._write(f"{n}.json", json.dumps(meta).encode())
        return f"250 2.0.0 OK queued as {n}"

    def _write(self, name, data):
        tmp = os.path.join(self.outdir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.outdir, name))


def server_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--auth", metavar="USER:PASSWORD")
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--reject", action="append", default=[], metavar="RCPT")
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    args = ap.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    handler = Sink(args.dir, args.reject)
    options = {
        # A fixed name: the default would look up this machine's FQDN, possibly over DNS.
        "hostname": "baken-smtp-sink",
        "decode_data": False,
    }
    if args.starttls and args.tls:
        ap.error("--starttls and --tls exclude each other")
    implicit = None
    if args.starttls:
        options["tls_context"] = server_context(*args.starttls)
    if args.tls:
        implicit = server_context(*args.tls)
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep:
            ap.error("--auth takes USER:PASSWORD")

        def check(mechanism, login, secret):
            return login == user.encode() and secret == password.encode()

        options.update(auth_required=True, auth_require_tls=False, auth_callback=check)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, loop=loop, **options),
            host="127.0.0.1",
            port=args.port,
            ssl=implicit,
        )
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        await server.serve_forever()

    if args.exit_on_stdin_eof:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
