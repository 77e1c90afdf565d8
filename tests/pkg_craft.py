#!/usr/bin/env python3
"""Craft a package plaintext for refusal tests, independently of kluis.

    pkg_craft.py IN OUT TC [--add-column NAME] [--count-off N]
                 [--change-record N] [--recipient AGE1] [--new-id]
                 [--set RECORD FIELD VALUE]...

IN is a decrypted kluis package (head line, CSV header, records, tail
line; docs/formats.md §8).  OUT gets the changed plaintext, TC the trusted
comment a kluis export would sign for it.  Unless told otherwise, the tail's
count and records digest are recomputed, so only the asked-for flaw is in
the result.  Records are split at LF, so IN must come from a register without
values that hold line breaks (a clean generated one); --set values must
need no quoting.
"""
import argparse
import hashlib
import json
import secrets


def split(data):
    lines = data.split(b"\n")
    assert lines[-1] == b"", "plaintext ends with LF"
    head, tail = lines[0], lines[-2]
    body = b"\n".join(lines[1:-2]) + b"\n"
    return json.loads(head), body, json.loads(tail)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("tc")
    ap.add_argument("--add-column")
    ap.add_argument("--count-off", type=int, default=0)
    ap.add_argument("--change-record", type=int)
    ap.add_argument("--recipient")
    ap.add_argument("--new-id", action="store_true")
    ap.add_argument("--set", nargs=3, action="append", default=[],
                    metavar=("RECORD", "FIELD", "VALUE"))
    a = ap.parse_args()

    head, body, tail = split(open(a.inp, "rb").read())
    rows = body.split(b"\n")[:-1]  # records hold no raw LF in these tests
    if a.add_column:
        head["fields"].append(a.add_column)
        rows[0] += b"," + a.add_column.encode()
        for i in range(1, len(rows)):
            rows[i] += b",%02d.%02d.%02d-%03d.%02d" % (
                60 + i % 40, 1 + i % 12, 1 + i % 28, i % 1000, i % 97)
    for rec, field, value in a.set:
        names = rows[0].decode().split(",")
        r = rows[int(rec)].split(b",")
        assert len(r) == len(names), "a record with quoted commas"
        r[names.index(field)] = value.encode()
        rows[int(rec)] = b",".join(r)
    if a.recipient:
        head["recipient"]["age_recipient"] = a.recipient
    if a.new_id:
        head["package_id"] = secrets.token_hex(16)
    new_body = b"\n".join(rows) + b"\n"
    digest = "blake2b-256:" + hashlib.blake2b(new_body, digest_size=32).hexdigest()
    count = len(rows) - 1
    if a.change_record is not None:
        # Change one value but keep the digest of the original records.
        r = rows[a.change_record].split(b",")
        r[0] = b"Veranderd"
        rows[a.change_record] = b",".join(r)
        new_body = b"\n".join(rows) + b"\n"
        digest = tail["records_digest"]
    tail["records"] = count + a.count_off
    tail["records_digest"] = digest
    out = (json.dumps(head, separators=(",", ":")).encode() + b"\n" + new_body +
           json.dumps(tail, separators=(",", ":")).encode() + b"\n")
    open(a.out, "wb").write(out)
    p = head["protocol"]
    tc = ("kluis-package %s protocol=%s version=%s digest=%s records=%d "
          "records_digest=%s created=%s" % (
              head["package_id"], p["id"], p["version"], p["digest"],
              tail["records"], tail["records_digest"], head["created_at"]))
    open(a.tc, "w").write(tc)


if __name__ == "__main__":
    main()
