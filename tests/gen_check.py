#!/usr/bin/env python3
"""Check the register generator's files, independently of its C code.

    gen_check.py KLUIS-GEN PROTOCOL.json [ROWS]

Runs KLUIS-GEN in every writing (encodings, header sets, delimiters, line
ends, --nfd) for one seed and reads the files back with Python's csv module.
Checks: the header names match the protocol's fields (name, label or alias,
ignoring case, accents, spaces and punctuation) and the four extra columns
match none; clean rows have every column; the extra columns hold what they
promise (DOS-yyyy-nnnnnn unique, national register numbers with a correct
mod-97 check, addresses); organisers with several initiatives exist; dates,
phones, e-mails and enumerations come in the promised writings and are
accepted values; the selection rule excludes 20..30 % of the clean rows; a
dirty register holds each kind of defect; and every writing describes the
same rows (after decoding and NFC): UTF-8 = UTF-8 with BOM = Windows-1252,
header set 2 = set 1 reordered, ',' + CRLF = ';' + LF, --nfd = NFC.  Same
options, same bytes.  Prints "ok"/"not ok" lines; exits 1 if any failed.
"""
import collections
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

GEN, PROTO = sys.argv[1], sys.argv[2]
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
SEED = 7
failed = 0


def check(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failed += 1


def key(s):
    """The protocol's match key: compatibility-decomposed, accents dropped,
    case-folded, letters and digits only."""
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    return "".join(c for c in s if c.isalnum())


def gen(tmp, name, *opts):
    path = os.path.join(tmp, name)
    subprocess.run([GEN, "--rows", str(ROWS), "--seed", str(SEED),
                    "--out", path, "--stats", path + ".json", *opts],
                   check=True)
    return path


def read(path, encoding="utf-8", delimiter=";"):
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline=""),
                           delimiter=delimiter))
    return raw, rows[0], rows[1:]


def nfc(rows):
    return [[unicodedata.normalize("NFC", v) for v in r] for r in rows]


proto = json.load(open(PROTO, encoding="utf-8"))
fields = {f["name"]: f for f in proto["fields"]}
header_keys = {}
for f in proto["fields"]:
    for s in [f["name"], f["label"]] + f.get("aliases", []):
        header_keys[key(s)] = f["name"]
EXTRA = {"Dossiernummer", "Rijksregisternummer", "Adres", "Opmerkingen",
         "Dossier nr.", "INSZ", "Straat en nummer", "Notities"}


def enum_keys(f):
    out = {}
    for v in f["values"]:
        if isinstance(v, str):
            v = {"value": v}
        for s in [v["value"], v.get("label", v["value"])] + v.get("aliases", []):
            out[key(s)] = v["value"]
    return out


with tempfile.TemporaryDirectory() as tmp:
    clean = gen(tmp, "clean.csv")
    dirty = gen(tmp, "dirty.csv", "--dirty", "5")
    again = gen(tmp, "again.csv", "--dirty", "5")
    bom = gen(tmp, "bom.csv", "--dirty", "5", "--encoding", "utf-8-bom")
    cp = gen(tmp, "cp.csv", "--dirty", "5", "--encoding", "cp1252")
    h2 = gen(tmp, "h2.csv", "--dirty", "5", "--headers", "2")
    comma = gen(tmp, "comma.csv", "--dirty", "5", "--delimiter", ",", "--crlf")
    nfd = gen(tmp, "nfd.csv", "--dirty", "5", "--nfd")
    cpnfd = gen(tmp, "cpnfd.csv", "--dirty", "5", "--nfd", "--encoding", "cp1252")

    # -- headers
    raw, head, rows = read(clean)
    check(len(head) == 17, "17 columns")
    mapped = {h: header_keys.get(key(h)) for h in head}
    check(all((mapped[h] is None) == (h in EXTRA) for h in head),
          "every header names a protocol field, extra columns none: %s" %
          {h: m for h, m in mapped.items()})
    check(sorted(m for m in mapped.values() if m) == sorted(fields),
          "each protocol field has exactly one column")
    _, head2, rows2 = read(h2)
    mapped2 = {h: header_keys.get(key(h)) for h in head2}
    check(all((mapped2[h] is None) == (h in EXTRA) for h in head2)
          and sorted(m for m in mapped2.values() if m) == sorted(fields),
          "header set 2 also maps: %s" % mapped2)
    check(head2 != head and set(head2).isdisjoint(head),
          "header set 2: other names")

    col = {mapped[h] or h: i for i, h in enumerate(head)}

    # -- clean rows
    check(len(rows) == ROWS and all(len(r) == 17 for r in rows),
          "clean file: %d rows of 17 columns" % ROWS)
    dos = [r[col["Dossiernummer"]] for r in rows]
    check(all(re.fullmatch(r"DOS-(19|20)\d\d-\d{6}", d) for d in dos)
          and len(set(dos)) == len(dos), "dossier numbers DOS-yyyy-nnnnnn, unique")
    rrn_ok = rrn_n = 0
    for r in rows:
        v = r[col["Rijksregisternummer"]]
        if not v:
            continue
        rrn_n += 1
        d = re.sub(r"[.-]", "", v)
        m = re.fullmatch(r"\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}|\d{11}", v)
        base = int(d[:9]) + (2000000000 if d[:2] == "00" else 0)
        rrn_ok += bool(m) and 97 - base % 97 == int(d[9:])
    check(rrn_n > ROWS // 2 and rrn_ok == rrn_n,
          "national register numbers: %d of %d well-formed with check" % (rrn_ok, rrn_n))
    check(all(re.fullmatch(r".+ \d+[A-C]?( bus \d+)?, \d{4} .+", r[col["Adres"]])
              for r in rows), "addresses: street number, postcode municipality")
    check(sum(bool(r[col["Opmerkingen"]]) for r in rows) > ROWS // 10
          and any("\n" in r[col["Opmerkingen"]] for r in rows)
          and any(";" in r[col["Opmerkingen"]] for r in rows),
          "remarks: some, with ';' and line breaks")

    ident = collections.defaultdict(set)
    for r in rows:
        k = (r[col["naam"]], r[col["voornaam"]], r[col["e-mailadres"]],
             r[col["telefoonnummer"]])
        if k[2] or k[3]:
            ident[k].add(r[col["Dossiernummer"]])
    multi = sum(1 for v in ident.values() if len(v) > 1)
    check(multi > ROWS // 20, "organisers with several initiatives: %d" % multi)
    persons = sum(1 for r in rows if r[col["voornaam"]])
    check(0.5 < persons / ROWS < 0.85, "persons and organisations: %d persons" % persons)

    date_re = re.compile(r"\d{2}/\d{2}/\d{4}( 00:00:00)?|\d{4}-\d{2}-\d{2}|\d{1,2}-\d{1,2}-\d{4}")
    ds = [r[col[f]] for r in rows for f in ("startdatum", "datum_stopzetting")]
    check(all(date_re.fullmatch(d) for d in ds if d), "dates in the promised writings")
    styles = collections.Counter("dmy" if "/" in d else "iso" if d[4:5] == "-" else "d-m-y"
                                 for d in ds if d)
    check(styles["dmy"] > styles["iso"] > 0 and styles["d-m-y"] > 0,
          "dd/mm/yyyy mostly, some yyyy-mm-dd and d-m-yyyy: %s" % dict(styles))

    def iso(d):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
            return d
        dd, mm, yy = re.split(r"[/-]", d.split(" ")[0])
        return "%s-%02d-%02d" % (yy, int(mm), int(dd))

    stopped = [r for r in rows if r[col["datum_stopzetting"]]]
    check(0.40 < len(stopped) / ROWS < 0.50, "about 45 %% stopped: %d" % len(stopped))
    check(all(iso(r[col["datum_stopzetting"]]) > iso(r[col["startdatum"]]) for r in stopped),
          "every stop date after its start")
    starts = [int(iso(r[col["startdatum"]])[:4]) for r in rows]
    check(min(starts) >= 1985 and max(starts) <= 2024, "start years 1985..2024")

    def selected(r):
        s, e = iso(r[col["startdatum"]]), r[col["datum_stopzetting"]]
        return not e or 2015 <= int(s[:4]) <= 2020 or 2015 <= int(iso(e)[:4]) <= 2020

    excl = sum(not selected(r) for r in rows) / ROWS
    check(0.20 <= excl <= 0.30, "selection excludes %.1f %% of clean rows" % (100 * excl))
    st = json.load(open(clean + ".json"))
    check(st["clean_rows"] - st["clean_rows_selected"] == sum(not selected(r) for r in rows),
          "--stats agrees on the excluded rows")

    phone_res = [r"0\d{3} \d\d \d\d \d\d", r"0\d{3}/\d\d\.\d\d\.\d\d",
                 r"0\d{3}/\d\d \d\d \d\d", r"\+32 \d{3} \d\d \d\d \d\d",
                 r"0032 ?\d{3} ?\d\d ?\d\d ?\d\d", r"\+32 \(0\)\d{3} \d\d \d\d \d\d",
                 r"0\d{9}", r"\+32\d{9}", r"0\d{3}\.\d\d\.\d\d\.\d\d", r"0\d{3}-\d\d-\d\d-\d\d",
                 r"0\d \d{3} \d\d \d\d", r"0\d/\d{3}\.\d\d\.\d\d", r"0\d/\d{3} \d\d \d\d",
                 r"\+32 \d \d{3} \d\d \d\d", r"\+32 \(0\)\d \d{3} \d\d \d\d", r"0032\d{8}",
                 r"0\d{8}", r"\(0\d\) \d{3} \d\d \d\d", r"0\d\d \d\d \d\d \d\d",
                 r"0\d\d/\d\d\.\d\d\.\d\d", r"0\d\d/\d\d \d\d \d\d", r"\+32 \d\d \d\d \d\d \d\d",
                 r"\+32 \(0\)\d\d \d\d \d\d \d\d", r"\(0\d\d\) \d\d \d\d \d\d"]
    phones = [r[col["telefoonnummer"]] for r in rows if r[col["telefoonnummer"]]]
    seen = collections.Counter()
    bad_phone = 0
    for p in phones:
        hit = [i for i, x in enumerate(phone_res) if re.fullmatch(x, p)]
        bad_phone += not hit
        seen.update(hit[:1])
        digits = re.sub(r"\D", "", p.replace("(0)", ""))
        nsn = digits[4:] if digits.startswith("0032") else digits[2:] if p.startswith("+") else digits[1:]
        bad_phone += not (len(nsn) == 9 and nsn[0] == "4" and nsn[1] in "56789"
                          or len(nsn) == 8 and nsn[0] != "0")
    check(bad_phone == 0, "phones: Belgian numbers in known writings (%d bad)" % bad_phone)
    check(len(seen) >= 15, "phones: %d different writings" % len(seen))
    for want in ("0470 12 34 56", "0470/12.34.56", "+32 470 12 34 56", "0032470123456",
                 "09 123 45 67", "09/123.45.67", "+32 (0)9 123 45 67"):
        shape = re.sub(r"\d", "9", want)
        check(any(re.sub(r"\d", "9", p) == shape for p in phones), "phone writing like " + want)
    check(0.05 < 1 - len(phones) / ROWS < 0.15, "about 10 % without phone")

    mails = [r[col["e-mailadres"]] for r in rows if r[col["e-mailadres"]]]
    check(all(re.fullmatch(r"[A-Za-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]+", m)
              and ".." not in m and not m.startswith(".") for m in mails),
          "e-mail addresses well-formed")
    check(0.05 < 1 - len(mails) / ROWS < 0.15, "about 10 % without e-mail")
    check(any(m != m.lower() for m in mails), "some e-mail addresses in mixed case")

    for name in ("vergunningstype", "sociaal_statuut", "subsidievoorwaarden", "rechtsvorm"):
        keys = enum_keys(fields[name])
        vals = [r[col[name]] for r in rows if r[col[name]]]
        check(all(key(v) in keys for v in vals) and len(set(vals)) > 5,
              "%s: %d spellings, all accepted" % (name, len(set(vals))))
    f = fields["ikt"]
    tf = {key(v) for v in f["true_values"] + f["false_values"]}
    iv = [r[col["ikt"]] for r in rows if r[col["ikt"]]]
    check(all(key(v) in tf for v in iv), "IKT: %s" % sorted(set(iv)))
    caps = [int(r[col["capaciteit"]]) for r in rows]
    check(min(caps) >= 1 and max(caps) <= 150, "places 1..150")
    gem = {r[col["gemeente"]] for r in rows}
    check(len(gem) >= 100 and max(map(len, gem)) <= 100, "%d municipalities" % len(gem))
    fam = {r[col["naam"]] for r in rows if r[col["voornaam"]]}
    giv = {r[col["voornaam"]] for r in rows if r[col["voornaam"]]}
    check(len(fam) >= 200 and len(giv) >= 150, "%d family and %d given names" % (len(fam), len(giv)))
    check(any(not c.isascii() for n in fam | giv for c in n), "names with accents")
    text = "".join(v for r in rows for v in r)
    check(all(unicodedata.is_normalized("NFC", v) for r in rows for v in r),
          "clean UTF-8 output is NFC")
    try:
        text.encode("cp1252")
        ok = True
    except UnicodeEncodeError:
        ok = False
    check(ok, "every clean value representable in Windows-1252")

    # -- same options, same bytes; writings of one register
    rd, hd, rowsd = read(dirty)
    check(rd == open(again, "rb").read(), "same options and seed: same bytes")
    rb, hb, rowsb = read(bom, "utf-8-sig")
    check(rb == b"\xef\xbb\xbf" + rd, "utf-8-bom = BOM + utf-8")
    rc, hc, rowsc = read(cp, "cp1252")
    check(not rc.startswith(b"\xef\xbb\xbf") and rc != rd, "cp1252 differs in bytes")
    check([hc] + nfc(rowsc) == [hb] + nfc(rowsb),
          "cp1252 and utf-8-bom: the same rows after decoding and NFC")
    check(all(unicodedata.is_normalized("NFC", v) for r in rowsc for v in r),
          "cp1252 output is NFC (decomposed accents written precomposed)")
    check(open(cpnfd, "rb").read() == rc, "--nfd changes nothing in cp1252")
    _, hn, rowsn = read(nfd)
    accented = [v for r in rowsn for v in r if not v.isascii()]
    check(nfc([hn] + rowsn) == nfc([hd] + rowsd) and accented
          and not any(unicodedata.is_normalized("NFC", v) for v in accented
                      if unicodedata.normalize("NFD", v) != v),
          "--nfd: the same rows after NFC, every accented letter decomposed")
    _, hn2, _ = read(gen(tmp, "nfd2.csv", "--nfd", "--headers", "2"))
    check("Subsidie\u0308ring" in hn2, "--nfd decomposes headers too")
    _, hcm, rowscm = read(comma, delimiter=",")
    check([hcm] + rowscm == [hd] + rowsd, "',' + CRLF: the same rows as ';' + LF")
    check(b"\r" not in raw, "';' + LF: no CR without --crlf (clean file)")
    crlf_lines = open(comma, "rb").read().count(b"\r\n")
    check(crlf_lines >= ROWS, "',' + CRLF: %d CRLF line ends" % crlf_lines)
    _, h2d, rows2d = read(h2)
    order = [head2.index(h) for h in h2d]
    pos2 = {mapped2[h] or h: i for i, h in enumerate(h2d)}
    names1 = [mapped[h] or h for h in head]
    names2 = {"Dossier nr.": "Dossiernummer", "INSZ": "Rijksregisternummer",
              "Straat en nummer": "Adres", "Notities": "Opmerkingen"}
    pos2 = {names2.get(k, k): v for k, v in pos2.items()}
    same = all(len(a) == len(b) == 17 and all(a[i] == b[pos2[n]] for i, n in enumerate(names1))
               for a, b in zip(rowsd, rows2d) if len(a) == 17)
    check(len(rows2d) == len(rowsd) and same,
          "header set 2: the same rows, columns reordered")

    # -- the dirty register
    st = json.load(open(dirty + ".json"))
    check(st["rows"] == ROWS == len(rowsd), "dirty: %d records" % ROWS)
    check(all(v > 0 for v in st["defects"].values()), "dirty: every kind of defect: %s" % st["defects"])
    short = sum(len(r) == 16 for r in rowsd)
    # a duplicate repeats the row before byte for byte, a short one too
    dup_short = sum(len(a) == 16 and a == b for a, b in zip(rowsd, rowsd[1:]))
    check(short - dup_short == st["defects"]["missing_column"]
          and all(len(r) in (16, 17) for r in rowsd),
          "rows with a column missing: %d" % short)
    dups = sum(a == b for a, b in zip(rowsd, rowsd[1:]))
    check(dups >= st["defects"]["duplicate_row"], "duplicated rows: %d" % dups)
    ci = {mapped[h] or h: i for i, h in enumerate(hd)}
    names = [r[ci["naam"]] for r in rowsd]
    check(any(n.startswith("=HYPERLINK(") for n in names)
          and any(n[:1] in "+-@" for n in names), "formula injections in names")
    check(any("\u00a0" in v for r in rowsd for v in r), "non-breaking spaces")
    check(any(v != v.strip() for r in rowsd for v in r), "leading or trailing spaces")
    check(any(not unicodedata.is_normalized("NFC", v) for r in rowsd for v in r),
          "decomposed accents in the UTF-8 output")
    check(any("\n" in r[ci["naam"]] or ";" in r[ci["naam"]] for r in rowsd)
          and any("\n" in r[ci["gemeente"]] for r in rowsd), "separators and line breaks in names and municipalities")
    bad_dates = [r[ci["startdatum"]] for r in rowsd
                 if r[ci["startdatum"]].strip() and not date_re.fullmatch(r[ci["startdatum"]].strip())]
    check(len(bad_dates) > 0, "impossible dates: e.g. %s" % bad_dates[:3])
    check(any(re.fullmatch(r"\d\d/\d\d/18\d\d|18\d\d-\d\d-\d\d|\d{1,2}-\d{1,2}-18\d\d", r[ci["startdatum"]])
              for r in rowsd), "start dates before 1900")
    check(any(r[ci["naam"]].strip() == "" for r in rowsd if len(r) >= 3), "empty names")

print("%d failed" % failed)
sys.exit(1 if failed else 0)
