#!/usr/bin/python3
"""A real SMTP server on 127.0.0.1 for the shell tests, on aiosmtpd.

    /usr/bin/python3 tests/smtpd.py --maildir DIR [--port 0] [--auth USER:PASS]
        [--reject-rcpt CODE] [--portfile FILE]

Each accepted message is stored in the Maildir DIR (created if missing) with
the SMTP envelope prepended as X-Envelope-From and X-Envelope-To headers
(one X-Envelope-To per recipient), so a test sees exactly what a relay was
asked to deliver.

--port 0 (the default) binds a free port; the socket is bound before the
port is reported, so there is no window in which another process could take
it.  --portfile receives the port (written atomically) once the server
accepts connections: a test waits for that file, not for a sleep.

--auth offers AUTH PLAIN and LOGIN without TLS (auth_require_tls=False) and
requires a successful AUTH before MAIL.  --reject-rcpt answers every RCPT
with CODE (e.g. 550).  There is no STARTTLS: a client that insists on TLS
(plain smtp:// without --insecure) must give up, which is what the tests
check.  Runs until SIGTERM or SIGINT.

Debian installs aiosmtpd for /usr/bin/python3, which may not be the first
python3 on PATH; the shebang and the tests call /usr/bin/python3.
"""

import argparse
import mailbox
import os
import signal
import socket
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir, reject_rcpt):
        self.maildir = mailbox.Maildir(maildir, create=True)
        self.reject_rcpt = reject_rcpt
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if self.reject_rcpt:
            return "%d 5.1.1 Recipient rejected by test server" % \
                self.reject_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Header values are the envelope as the client sent it; aiosmtpd
        # has already refused CR/LF inside a command line.
        extra = "X-Envelope-From: %s\r\n" % envelope.mail_from
        for rcpt in envelope.rcpt_tos:
            extra += "X-Envelope-To: %s\r\n" % rcpt
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        with self.lock:
            self.maildir.add(extra.encode("ascii") + content)
        return "250 Message accepted for delivery"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user
              and auth_data.password == self.password)
        # handled=False: let aiosmtpd send 535 itself (the default,
        # handled=True, means "reply already sent" and leaves the client
        # waiting).
        return AuthResult(success=ok, handled=False)


class BoundController(Controller):
    """A Controller on a socket we bound ourselves (port 0 → free port)."""

    def __init__(self, handler, sock, **kwargs):
        self.sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.sock)


def write_portfile(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--auth", metavar="USER:PASS")
    ap.add_argument("--reject-rcpt", type=int, metavar="CODE")
    ap.add_argument("--portfile")
    args = ap.parse_args()
    if args.reject_rcpt is not None and not 400 <= args.reject_rcpt <= 599:
        ap.error("--reject-rcpt wants a 4xx or 5xx code")

    # AUTH without TLS is the point of this test server; say it once here
    # rather than in every log.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    kwargs = {"data_size_limit": 256 * 1024 * 1024,
              "server_hostname": "kluis-test.invalid",
              "ready_timeout": 10.0}
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user:
            ap.error("--auth wants USER:PASS")
        kwargs.update(authenticator=Authenticator(user, password),
                      auth_required=True, auth_require_tls=False)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())

    controller = BoundController(Handler(args.maildir, args.reject_rcpt),
                                 sock, **kwargs)
    controller.start()
    if args.portfile:
        write_portfile(args.portfile, port)
    print("smtpd.py: listening on 127.0.0.1:%d" % port, file=sys.stderr,
          flush=True)
    while not stop.wait(3600):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
