#!/usr/bin/env python3
"""ttyrun PASS CMD...: run CMD on a new pseudo-terminal, answering every
password/passphrase prompt with PASS.

age 1.1.1 and minisign read passphrases only from a terminal (minisign
even discards what was typed before its prompt), so the shell tests drive
them through this.  Terminal output goes to stderr; the exit status is
CMD's.
"""
import os, pty, re, select, signal, sys, time
pw = sys.argv[1].encode() + b"\n"
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
buf, pos, answered = b"", 0, 0
prompt = re.compile(rb"(?i)(password|passphrase)[^\n]*: *$")
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    buf += data
    if prompt.search(buf[pos:]):
        os.write(fd, pw)
        pos = len(buf)
        answered += 1
else:
    os.kill(pid, signal.SIGKILL)
sys.stderr.write(buf.decode("utf-8", "replace"))
sys.stderr.write("\n[ttyrun: answered %d prompt(s)]\n" % answered)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
