#!/usr/bin/env python3
"""Check a received workspace against its package, independently of kluis.

    receive_check.py codes DB            print every person code, written
                                         (Crockford base32, Luhn mod 32)
    receive_check.py check PLAIN DB IDS  the checks below

PLAIN is the decrypted package, DB the workspace's kluis.db (read with
Python's sqlite3), IDS the JSON lines of `kluis reidentify --json` for all
codes.  Checks: every research row is the package record with the same
number, attribute for attribute; every record's code resolves to a person
whose identity is that record's (same e-mail when the record has one,
else same name, first name and phone), compared case-folded in NFC; records
with the same e-mail share a code and different e-mails never do; persons
= distinct codes = vault rows < records; no identifying value is in the
research table.
"""
import csv
import io
import json
import sqlite3
import sys
import unicodedata

ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def written(v):
    s = [(v >> (5 * (11 - i))) & 31 for i in range(12)]
    tot = 0
    for k, i in enumerate(range(11, -1, -1)):
        d = s[i]
        if k % 2 == 0:
            d *= 2
            d = d // 32 + d % 32
        tot += d
    c = (32 - tot % 32) % 32
    t = "".join(ALPHA[x] for x in s)
    return "%s-%s-%s-%s" % (t[0:4], t[4:8], t[8:12], ALPHA[c])


def fold(s):
    return unicodedata.normalize("NFC", s or "").casefold()


def package(path):
    data = open(path, "rb").read().decode("utf-8")
    head, rest = data.split("\n", 1)
    body, tail = rest[:-1].rsplit("\n", 1)
    rows = list(csv.reader(io.StringIO(body + "\n", newline="")))
    return json.loads(head), rows[0], rows[1:], json.loads(tail)


def main():
    if sys.argv[1] == "codes":
        db = sqlite3.connect(sys.argv[2])
        for (c,) in db.execute("select code from vault order by person"):
            print(written(c))
        return
    _, _, plain, dbpath, idsp = sys.argv
    head, cols, recs, tail = package(plain)
    assert tail["records"] == len(recs), "tail count"
    db = sqlite3.connect(dbpath)
    rcols = [r[1] for r in db.execute("pragma table_info(research)")]
    vcols = [r[1] for r in db.execute("pragma table_info(vault)")]
    ident = vcols[3:]
    attrs = rcols[2:]
    assert set(ident) == {"naam", "voornaam", "e-mailadres", "telefoonnummer"}, ident
    assert not set(ident) & set(attrs), "an identifying field in research"
    assert set(ident) | set(attrs) == set(cols), (cols, ident, attrs)
    ids = {}
    for line in open(idsp, encoding="utf-8"):
        o = json.loads(line)
        ids[o["code"]] = o
    idx = {c: i for i, c in enumerate(cols)}
    by_email = {}
    codes = set()
    n = 0
    for row in db.execute("select * from research order by record"):
        n += 1
        rec, code = row[0], written(row[1])
        src = recs[rec - 1]
        for name, val in zip(attrs, row[2:]):
            want = src[idx[name]]
            got = "" if val is None else str(val)
            assert got == want, (rec, name, got, want)
        who = ids[code]
        e = fold(src[idx["e-mailadres"]])
        if e:
            assert fold(who["e-mailadres"]) == e, (rec, "e-mail")
            prev = by_email.setdefault(e, code)
            assert prev == code, (rec, "same e-mail, other code")
        else:
            for f in ("naam", "voornaam", "telefoonnummer"):
                assert fold(who[f]) == fold(src[idx[f]]), (rec, f)
        codes.add(code)
    assert len(set(by_email.values())) == len(by_email), "two e-mails, one code"
    persons = db.execute("select count(*) from vault").fetchone()[0]
    assert persons == len(codes) == len(ids), (persons, len(codes), len(ids))
    assert persons < n, (persons, n)
    print("ok: %d records, %d persons" % (n, persons))


if __name__ == "__main__":
    main()
