#!/usr/bin/env python3
"""Run the community age test vectors (C2SP CCTV) against the kluis binary.

Usage: cctv.py KLUIS VECTOR_DIR

For every vector: write the age file (inflated if `compressed: zlib`) and
the identities to a temporary directory, then
  1. `kluis decrypt -o OUT`: must succeed exactly when `expect: success`,
     with OUT's SHA-256 equal to `payload`; on failure OUT must not exist
     and the error must be of the vector's class (header, armor, HMAC,
     no match, payload), as kluis names it in its message;
  2. `kluis decrypt` to stdout: whatever it released before failing must
     hash to `payload` for `payload failure` vectors (the spec's rule that
     only authenticated plaintext is released), and must be empty for
     every earlier failure.
Vectors for recipient types kluis does not implement (ML-KEM hybrids,
p256tag, plugins) are skipped and counted.  Prints TAP.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import zlib

CLASS_WORDS = {
    "header failure": "age header",
    "armor failure": "armor",
    "HMAC failure": "header MAC",
    "no match": None,  # any of the no-match messages
    "payload failure": "age payload",
}
NO_MATCH_WORDS = ("no identity matches", "wrong passphrase",
                  "not encrypted with a passphrase",
                  "encrypted with a passphrase")


def parse(path):
    with open(path, "rb") as f:
        data = f.read()
    head, _, body = data.partition(b"\n\n")
    meta = {}
    for line in head.decode().splitlines():
        k, _, v = line.partition(": ")
        meta.setdefault(k, []).append(v)
    if meta.get("compressed", [""])[0] == "zlib":
        body = zlib.decompress(body)
    return meta, body


def supported(meta):
    for ident in meta.get("identity", []):
        if not ident.startswith("AGE-SECRET-KEY-1"):
            return False
    return "identity" in meta or "passphrase" in meta


def main():
    kluis, vdir = sys.argv[1], sys.argv[2]
    names = sorted(n for n in os.listdir(vdir) if n != "README.md")
    n = ok = skipped = 0
    failures = []
    for name in names:
        meta, body = parse(os.path.join(vdir, name))
        n += 1
        if not supported(meta):
            skipped += 1
            print(f"ok {n} - {name} # SKIP recipient type not implemented")
            continue
        expect = meta["expect"][0]
        want = meta.get("payload", [None])[0]
        problems = []
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "in.age")
            with open(src, "wb") as f:
                f.write(body)
            args = [kluis, "decrypt"]
            env = dict(os.environ)
            env.pop("KLUIS_PASSPHRASE", None)
            ids = meta.get("identity", [])
            if ids:
                idf = os.path.join(d, "ids.txt")
                with open(idf, "w") as f:
                    f.write("# test identities\n" + "\n".join(ids) + "\n")
                args += ["-i", idf]
            if "passphrase" in meta:
                # Vectors with two passphrases expect a header failure
                # before any is tried; the first one is enough.
                pf = os.path.join(d, "pass.txt")
                with open(pf, "w") as f:
                    f.write(meta["passphrase"][0] + "\n")
                args += ["--passphrase-file", pf]
            out = os.path.join(d, "out")
            r = subprocess.run(args + ["-o", out, src], capture_output=True,
                               env=env, timeout=300)
            err = r.stderr.decode(errors="replace")
            if expect == "success":
                if r.returncode != 0:
                    problems.append(f"failed: {err.strip()}")
                elif not os.path.exists(out):
                    problems.append("no output file")
                else:
                    with open(out, "rb") as f:
                        got = hashlib.sha256(f.read()).hexdigest()
                    if got != want:
                        problems.append("payload hash differs")
            else:
                if r.returncode != 1:
                    problems.append(f"exit {r.returncode}, want 1: {err.strip()}")
                if os.path.exists(out):
                    problems.append("output file left behind")
                if os.listdir(d) != sorted(os.listdir(d)) and False:
                    pass
                leftovers = [x for x in os.listdir(d) if x.startswith(".out")]
                if leftovers:
                    problems.append(f"temporary file left: {leftovers}")
                word = CLASS_WORDS[expect]
                if word is not None and word not in err:
                    problems.append(f"wrong failure class for '{expect}': {err.strip()}")
                if word is None and not any(w in err for w in NO_MATCH_WORDS):
                    problems.append(f"not reported as no match: {err.strip()}")
            # Streaming to stdout: only authenticated plaintext released.
            r2 = subprocess.run(args + [src], capture_output=True, env=env,
                                timeout=300)
            released = hashlib.sha256(r2.stdout).hexdigest()
            if expect == "success":
                if r2.returncode != 0 or released != want:
                    problems.append("stdout decryption differs")
            elif expect == "payload failure":
                if r2.returncode != 1 or released != want:
                    problems.append("released plaintext differs from the "
                                    "authenticated prefix")
            elif r2.stdout:
                problems.append("plaintext released before the header checked out")
        if problems:
            failures.append(name)
            print(f"not ok {n} - {name} ({expect})")
            for p in problems:
                print(f"# {p}")
        else:
            ok += 1
            print(f"ok {n} - {name} ({expect})")
    print(f"# CCTV age vectors: {ok} passed, {len(failures)} failed, "
          f"{skipped} skipped (recipient types not implemented), {n} total")
    print(f"1..{n}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
