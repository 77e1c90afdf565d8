#!/usr/bin/env python3
"""Check a rendering of a kluis protocol against the protocol file itself.

    protocol_render_check.py FILE.json RENDERED md|html

The expectations come from the JSON, read here independently of kluis (no
stored copy of a rendering): every field's label and name, the retention
period and the transfer frequency in Dutch words, the recipient's
services, every security measure, both parties, the legal framework,
articles 1 to 10, the annex.  For HTML also: the page is well formed, is a
complete Dutch UTF-8 document without scripts or external resources, and
every string from the file is escaped (a label such as 'Naam <b>&amp;'
must arrive as text, not as markup).

Text is compared after collapsing white space; Markdown after undoing
backslash escapes and hard line breaks, HTML on the parsed text (entities
decoded, tags as spaces).  Prints "ok"/"not ok" lines and exits 1 if any
check failed.
"""
import html
import html.parser
import json
import re
import sys

MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli",
          "augustus", "september", "oktober", "november", "december"]
EVERY = {"once": "eenmalig", "daily": "dagelijks", "weekly": "wekelijks",
         "monthly": "maandelijks", "quarterly": "driemaandelijks",
         "yearly": "jaarlijks"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "param", "source", "track", "wbr"}
FORBIDDEN_TAGS = {"script", "link", "img", "iframe", "object", "embed",
                  "frame", "audio", "video", "source", "base"}


def collapse(s):
    return re.sub(r"\s+", " ", s).strip()


def duration_nl(iso):
    """P1Y → '1 jaar', P6M → '6 maanden', PT72H → '72 uur', P0D →
    'onmiddellijk' (docs/protocol-format.md: one unit only)."""
    m = re.fullmatch(r"P(T?)(\d+)([YMDH])", iso)
    if not m:
        raise ValueError("not a duration: %r" % iso)
    n, unit = int(m.group(2)), m.group(3)
    if n == 0:
        return "onmiddellijk"
    if m.group(1):
        word = "uur"
    else:
        word = {"Y": ("jaar", "jaar"), "M": ("maand", "maanden"),
                "D": ("dag", "dagen")}[unit][n != 1]
    return "%d %s" % (n, word)


def date_nl(iso):
    y, m, d = (int(x) for x in iso.split("-"))
    return "%d %s %d" % (d, MONTHS[m - 1], y)


def html_escape(s):
    """The escaping the renderer promises: & < > " '."""
    return (s.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


class Page(html.parser.HTMLParser):
    """Collects the text and checks that the tags nest."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.text = [], [], []
        self.in_style = False
        self.doctype = None
        self.tags, self.attrs = set(), []
        self.style = ""

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.extend((tag, k, v) for k, v in attrs)
        self.text.append(" ")
        if tag == "style":
            self.in_style = True
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.extend((tag, k, v) for k, v in attrs)
        self.text.append(" ")

    def handle_endtag(self, tag):
        self.text.append(" ")
        if tag == "style":
            self.in_style = False
        if tag in VOID:
            return
        if not self.stack:
            self.errors.append("stray </%s> at %s" % (tag, self.getpos()))
            return
        top, pos = self.stack.pop()
        if top != tag:
            self.errors.append("</%s> at %s closes <%s> from %s"
                               % (tag, self.getpos(), top, pos))

    def handle_data(self, data):
        if self.in_style:
            self.style += data
        else:
            self.text.append(data)

    def close(self):
        super().close()
        for tag, pos in self.stack:
            self.errors.append("<%s> from %s never closed" % (tag, pos))


class Checker:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, detail=""):
        self.n += 1
        if cond:
            return
        self.failed += 1
        print("not ok %d - %s" % (self.n, desc))
        if detail:
            for line in str(detail).splitlines()[:10]:
                print("#   " + line)


def main(argv):
    if len(argv) != 4 or argv[3] not in ("md", "html"):
        print("usage: protocol_render_check.py FILE.json RENDERED md|html",
              file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        proto = json.load(f)
    with open(argv[2], encoding="utf-8") as f:
        raw = f.read()
    fmt = argv[3]
    c = Checker()

    if fmt == "html":
        page = Page()
        page.feed(raw)
        page.close()
        text = collapse("".join(page.text))
        c.ok(not page.errors, "HTML is well formed", "\n".join(page.errors))
        c.ok(re.match(r"\s*<!DOCTYPE html>", raw, re.I) is not None,
             "starts with <!DOCTYPE html>")
        c.ok(re.search(r'<html[^>]*\blang="nl"', raw) is not None,
             'html lang="nl"')
        c.ok(re.search(r'<meta charset="utf-8">', raw, re.I) is not None,
             "meta charset utf-8")
        c.ok(re.search(r"<title>[^<]+</title>", raw) is not None,
             "has a non-empty <title>")
        c.ok("<script" not in raw.lower() and "script" not in page.tags,
             "no <script>")
        bad = page.tags & FORBIDDEN_TAGS
        c.ok(not bad, "no external resources (tags)", sorted(bad))
        ext = [(t, k) for t, k, _ in page.attrs if k in ("src", "href")]
        c.ok(not ext, "no src/href attributes", ext)
        c.ok("url(" not in page.style and "@import" not in page.style,
             "CSS loads nothing")
        c.ok("@media print" in page.style, "CSS has @media print")
    else:
        body = raw.replace("\\\n", "\n")
        body = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", body)
        text = collapse(body)
        c.ok(not raw.lstrip().startswith("<"), "Markdown is not HTML")
        c.ok(re.search(r"^# \S", raw, re.M) is not None, "has a # title")
        c.ok(re.search(r"^\|.*\|\n\|(---\|)+\n", raw, re.M) is not None,
             "has a pipe table")

    def has(s, desc):
        c.ok(collapse(s) in text, "%s: %r" % (desc, collapse(s)[:80]))

    # fields: label and name each
    for fld in proto["fields"]:
        has(fld["label"], "field label")
        has(fld["name"], "field name")
        if fmt == "html" and re.search(r"[<>&\"']", fld["label"]):
            c.ok(fld["label"] not in raw,
                 "field label %r appears unescaped" % fld["label"])
            c.ok(html_escape(fld["label"]) in raw,
                 "field label %r appears escaped" % fld["label"])

    # retention and frequency, from the JSON itself
    has("gedurende " + duration_nl(proto["retention"]["period"]),
        "retention period")
    per = proto["transfer"]["periodicity"]
    has(EVERY[per], "transfer frequency")
    if per == "once":
        has("De persoonsgegevens zullen eenmalig worden opgevraagd.",
            "one-time transfer sentence")
    if proto["transfer"].get("end"):
        has(date_nl(proto["transfer"]["end"]), "last transfer date")

    # parties
    for role in ("discloser", "recipient"):
        party = proto["parties"][role]
        for key in ("name", "legal_name", "address"):
            has(party[key], "%s %s" % (role, key))
        has(party["representative"]["name"], role + " representative")
        has(party["representative"]["function"],
            role + " representative's function")
        if party["dpo"].get("advice_date"):
            has(date_nl(party["dpo"]["advice_date"]), role + " DPO advice date")
    for svc in proto["parties"]["recipient"].get("services", []):
        has(svc["name"], "recipient service")
        if fmt == "html":
            c.ok(html_escape(svc["name"]) in raw,
                 "service %r HTML-escaped in the source" % svc["name"])

    # security measures, every one, in full
    for m in proto["security_measures"]:
        has(m["text"], "security measure " + m["id"])

    has(proto["legal_framework"], "legal framework")
    # Markdown writes the title in capitals, as the seed does
    c.ok(collapse(proto["title"]).lower() in text.lower(), "title")
    for i in range(1, 11):
        c.ok(re.search(r"\bArtikel %d\b" % i, text) is not None,
             "Artikel %d" % i)

    if proto.get("annex"):
        has(proto["annex"]["title"], "annex title")
        for sec in proto["annex"]["sections"]:
            has(sec["title"], "annex section title")
    if proto.get("survey"):
        has("herinnering na " + duration_nl(proto["survey"]["reminder_after"]),
            "survey reminder")
    if proto["signed"]["date"]:
        has("Opgemaakt te %s, op %s" % (proto["signed"]["place"],
                                       date_nl(proto["signed"]["date"])),
            "place and date of signing")
    else:
        has("Nog niet ondertekend.", "not signed yet")
    if proto["processors"]:
        for pr in proto["processors"]:
            has(pr["name"], "processor")
    else:
        has("Er zijn momenteel geen verwerkers.", "no processors")
    dc = proto["disclosure_control"]
    has("minder dan %d" % dc["min_cell_count"], "minimum cell count")
    has("%d %%" % dc["dominance"]["percent"], "dominance percentage")
    deadlines = proto["deadlines"]
    if deadlines["breach_notification"] != "P0D":
        has("uiterlijk binnen " + duration_nl(deadlines["breach_notification"]),
            "breach notification deadline")

    if c.failed:
        print("# %s: %d of %d checks failed" % (argv[2], c.failed, c.n))
        return 1
    print("ok - %s: %d checks" % (argv[2], c.n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
