#!/usr/bin/python3
"""Check a decrypted kluis package against its protocol, independently of
kluis's C code (a second implementation of the rules, from
docs/protocol-format.md and docs/formats.md).

  package_check.py PROTOCOL.json PLAINTEXT [--report R.json] [--digest D]
                   [--register REG --encoding ENC --drop COL ...]

Checks: head/tail framing and ids; fields = the protocol's, in order;
record count = tail = report's selected; records digest (BLAKE2b-256 over
the CSV section); every value in normalised form for its type and within
its rules; required values present; every record satisfies the selection
rule; report counts add up.  With --register and --drop: no value of a
dropped column (as found in the register, len >= 6) occurs anywhere in the
plaintext bytes.  Prints one line per problem (at most 20) and exits 1 if
there was any.
"""
import argparse
import csv
import hashlib
import io
import json
import re
import sys
import unicodedata

problems = []


def bad(msg):
    problems.append(msg)


def parse_rule_value(field, v):
    return v


def year(v):
    return int(v[:4]) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v or "") else None


def evaluate(rule, rec, fields):
    (op, arg), = [(k, v) for k, v in rule.items() if not k.startswith("x_")]
    if op == "all":
        return all(evaluate(r, rec, fields) for r in arg)
    if op == "any":
        return any(evaluate(r, rec, fields) for r in arg)
    if op == "not":
        return not evaluate(arg, rec, fields)
    v = rec[arg["field"]]
    ftype = fields[arg["field"]]["type"]
    if op == "is_empty":
        return v == ""
    if op == "is_set":
        return v != ""
    if v == "":
        return False
    if op == "year_between":
        y = year(v)
        return y is not None and arg["from"] <= y <= arg["to"]
    if op == "date_between":
        return arg["from"] <= v <= arg["to"]
    if op == "in":
        return v in arg["values"]
    want = arg["value"]
    if ftype == "int":
        v = int(v)
    if ftype == "bool":
        f = fields[arg["field"]]
        v = v == (f.get("true_values") or ["ja"])[0]
    return {"eq": v == want, "ne": v != want, "lt": v < want,
            "le": v <= want, "gt": v > want, "ge": v >= want}[op]


def check_value(f, v, where):
    t = f["type"]
    if v == "":
        if f["required"]:
            bad(f"{where}: required value empty")
        return
    if v != v.strip() or "  " in v:
        bad(f"{where}: not trimmed/collapsed")
    if unicodedata.normalize("NFC", v) != v:
        bad(f"{where}: not NFC")
    if t == "text":
        if len(v) > f.get("max_length", 500):
            bad(f"{where}: longer than max_length")
        if any(unicodedata.category(c) == "Cc" for c in v):
            bad(f"{where}: control character")
    elif t == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            bad(f"{where}: date not ISO")
            return
        import datetime
        try:
            datetime.date.fromisoformat(v)
        except ValueError:
            bad(f"{where}: impossible date")
        if "min" in f and v < f["min"]:
            bad(f"{where}: date below min")
        if "max" in f and v > f["max"]:
            bad(f"{where}: date above max")
    elif t == "phone":
        if not re.fullmatch(r"\+[1-9]\d{6,14}", v):
            bad(f"{where}: phone not E.164")
        elif v.startswith("+32") and not re.fullmatch(r"\+32\d{8,9}", v):
            bad(f"{where}: Belgian number of wrong length")
    elif t == "email":
        if not re.fullmatch(r"[^@\s]+@[a-z0-9.-]+\.[a-z]+", v):
            bad(f"{where}: e-mail not normalised")
    elif t == "int":
        if not re.fullmatch(r"-?[1-9]\d*|0", v):
            bad(f"{where}: int not plain decimal")
            return
        if "min" in f and int(v) < f["min"]:
            bad(f"{where}: int below min")
        if "max" in f and int(v) > f["max"]:
            bad(f"{where}: int above max")
    elif t == "enum":
        vals = [x if isinstance(x, str) else x["value"] for x in f["values"]]
        if v not in vals:
            bad(f"{where}: not a canonical enum value")
    elif t == "bool":
        tv = (f.get("true_values") or ["ja"])[0]
        fv = (f.get("false_values") or ["nee"])[0]
        if v not in (tv, fv):
            bad(f"{where}: bool not normalised")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("protocol")
    ap.add_argument("plain")
    ap.add_argument("--report")
    ap.add_argument("--digest")
    ap.add_argument("--register")
    ap.add_argument("--encoding", default="utf-8-sig")
    ap.add_argument("--delimiter", default=";")
    ap.add_argument("--drop", action="append", default=[])
    a = ap.parse_args()

    proto = json.load(open(a.protocol, encoding="utf-8"))
    fields = {f["name"]: f for f in proto["fields"]}
    names = [f["name"] for f in proto["fields"]]
    raw = open(a.plain, "rb").read()

    first_nl = raw.index(b"\n")
    head = json.loads(raw[:first_nl])
    tail_start = raw.rindex(b"\n", 0, len(raw) - 1) + 1
    tail = json.loads(raw[tail_start:])
    body = raw[first_nl + 1:tail_start]
    if head.get("kluis_package") != 1 or head.get("part") != "head":
        bad("head line is not a kluis_package 1 head")
    if tail.get("kluis_package") != 1 or tail.get("part") != "tail":
        bad("last line is not a kluis_package 1 tail")
    if head["package_id"] != tail["package_id"]:
        bad("head and tail name different packages")
    if head["protocol"]["id"] != proto["id"]:
        bad("head names another protocol")
    if a.digest and head["protocol"]["digest"] != a.digest:
        bad("head carries another protocol digest")
    if head["fields"] != names:
        bad("head fields are not the protocol's fields in order")
    d = "blake2b-256:" + hashlib.blake2b(body, digest_size=32).hexdigest()
    if tail["records_digest"] != d:
        bad("records digest does not match the records")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    if rows[0] != names:
        bad("CSV header is not the protocol's field names")
    recs = rows[1:]
    if len(recs) != tail["records"]:
        bad(f"tail says {tail['records']} records, CSV has {len(recs)}")
    rule = proto.get("selection", {}).get("rule")
    for i, r in enumerate(recs, 1):
        if len(r) != len(names):
            bad(f"record {i}: {len(r)} values")
            continue
        rec = dict(zip(names, r))
        for n in names:
            check_value(fields[n], rec[n], f"record {i}, field {n}")
        if rule and not evaluate(rule, rec, fields):
            bad(f"record {i}: does not satisfy the selection rule")
    if a.report:
        rep = json.load(open(a.report, encoding="utf-8"))
        c = rep["counts"]
        if c["read"] != c["selected"] + c["excluded"] + c["rejected"]:
            bad("report counts do not add up")
        if c["selected"] != len(recs):
            bad("report's selected count differs from the package")
        if rep["package"]["records_digest"] != tail["records_digest"]:
            bad("report and package disagree on the records digest")
        if rep["package_id"] != head["package_id"]:
            bad("report names another package")
        if len(rep["issues"]) != rep["issues_count"]:
            bad("issue list length differs from issues_count")
        for dropped in a.drop:
            if dropped not in rep["dropped_columns"]:
                bad(f"column {dropped!r} not listed as dropped")
    if a.register and a.drop:
        text = open(a.register, encoding=a.encoding, newline="").read()
        reader = csv.reader(io.StringIO(text, newline=""),
                            delimiter=a.delimiter)
        header = next(reader)
        idx = [header.index(c) for c in a.drop]
        secrets = set()
        for row in reader:
            for j in idx:
                if j < len(row) and len(row[j].strip()) >= 6:
                    secrets.add(row[j].strip())
        if not secrets:
            bad("no dropped values found to look for")
        # grep -F (Aho-Corasick) finds any of them in one pass over the
        # bytes; one pattern per line, so values spanning lines are
        # looked for line by line (long lines only, to stay meaningful).
        pats = set()
        for v in secrets:
            v = unicodedata.normalize("NFC", v)
            for part in v.splitlines():
                if len(part.strip()) >= (6 if part == v else 12):
                    pats.add(part.strip())
        import subprocess
        import tempfile
        with tempfile.NamedTemporaryFile("w", encoding="utf-8") as pf:
            pf.write("\n".join(sorted(pats)) + "\n")
            pf.flush()
            g = subprocess.run(["grep", "-c", "-F", "-f", pf.name, a.plain],
                               capture_output=True, text=True)
        if g.returncode == 0:
            bad(f"{g.stdout.strip()} lines of the package hold a value of a dropped column")
        elif g.returncode != 1:
            bad("grep failed: " + g.stderr.strip())
        print(f"# looked for {len(pats)} values of dropped columns")
    print(f"# {len(recs)} records checked")
    for p in problems[:20]:
        print("problem:", p)
    if len(problems) > 20:
        print(f"problem: … {len(problems) - 20} more")
    sys.exit(1 if problems else 0)


main()
