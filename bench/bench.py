#!/usr/bin/python3
"""kluis benchmark: kluis against age and minisign on the same big file,
in the same invocation; figures as ratios kluis/baseline.  Stdlib only.
`kluis export` is measured against `age -e` of the same register bytes, on
registers of 1 M and 10 M clean rows made by tools/kluis-gen.  `kluis
receive` is measured against the naive pipeline `age -d | sqlite3 .import`
on packages of 1 M and 10 M records exported from such registers.

Called by bench/run.sh, which owns (and removes) the scratch directory.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time

MIB = 1 << 20
GNU_TIME = "/usr/bin/time"

# Operations, in run order.  "goal" marks the ones an issue sets a goal for:
# (ratio, peak RSS MiB), both at most.
OPS = [
    ("encrypt", "encrypt -o FILE", (1.0, 16.0)),
    ("decrypt", "decrypt -o FILE", (1.0, 16.0)),
    ("encrypt-stdout", "encrypt > /dev/null", None),
    ("decrypt-stdout", "decrypt > /dev/null", None),
    ("sign", "sign (prehashed)", None),
    ("verify", "verify (prehashed)", None),
    ("export-1M", "export, 1 M rows", (None, 64.0)),
    ("export-10M", "export, 10 M rows", (1.5, 64.0)),
    ("receive-1M", "receive, 1 M records", (None, 256.0)),
    ("receive-10M", "receive, 10 M records", (1.5, 256.0)),
]
EXPORT_ROWS = {"export-1M": 1_000_000, "export-10M": 10_000_000}
# Records wanted in the package: the generator's clean rows are about 72 %
# selected, so the register is made larger until the export has them.
RECEIVE_RECORDS = {"receive-1M": 1_000_000, "receive-10M": 10_000_000}
PASSPHRASE = "bench passphrase"


def baseline_name(op):
    return ("minisign" if op in ("sign", "verify") else
            "age -d \\| sqlite3 .import" if op in RECEIVE_RECORDS else "age")


def goal_met(s):
    g = dict((o, g) for o, _, g in OPS)[s["op"]]
    if g is None:
        return None
    ratio, rss = g
    return (ratio is None or s["ratio"] <= ratio) and s["kluis_rss"] <= rss


def goal_text(op):
    ratio, rss = dict((o, g) for o, _, g in OPS)[op]
    return (f"ratio ≤ {ratio:.1f}, " if ratio else "") + f"peak RSS ≤ {rss:.0f} MiB"


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)


# --- running and measuring one child ---------------------------------------

def spawn(argv, rssfile, stdout="/dev/null", stdin="/dev/null", errfile=None):
    """Run argv under GNU time; wall time is perf_counter around spawn..wait,
    CPU is the wait4 rusage (the child plus GNU time's own negligible share),
    peak RSS (KiB) is GNU time's %M.

    Why GNU time: ru_maxrss survives exec, and posix_spawn/fork from this
    Python process would report at least Python's own RSS (~18 MiB) for every
    child.  GNU time forks the tool from its own small process (~1 MiB)."""
    fa = [
        (os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    if errfile:
        fa.append((os.POSIX_SPAWN_OPEN, 2, errfile,
                   os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
    cmd = [GNU_TIME, "-q", "-f", "%M", "-o", rssfile] + argv
    t0 = time.perf_counter()
    pid = os.posix_spawn(GNU_TIME, cmd, os.environ, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter()
    try:
        with open(rssfile, encoding="ascii") as f:
            rss = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = -1
    return {
        "rc": os.waitstatus_to_exitcode(status),
        "wall": t1 - t0,
        "user": ru.ru_utime,
        "sys": ru.ru_stime,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss_kib": rss,
    }


def check_run(argv, r, errfile):
    if r["rc"] != 0:
        err = ""
        try:
            with open(errfile, encoding="utf-8", errors="replace") as f:
                err = f.read().strip()
        except OSError:
            pass
        die(f"{' '.join(argv)} exited {r['rc']}: {err}")
    if r["rss_kib"] <= 0:
        die(f"{' '.join(argv)}: GNU time reported no peak RSS")


def sh(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def pipe_cmp(producer, reference):
    """True if producer's stdout equals the file reference (no temp file)."""
    p = subprocess.Popen(producer, stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    c = subprocess.run(["cmp", "-s", "-", reference], stdin=p.stdout)
    p.stdout.close()
    return p.wait() == 0 and c.returncode == 0


def cmp_files(a, b):
    return subprocess.run(["cmp", "-s", a, b]).returncode == 0


def rm(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def warm(path):
    """One untimed read of the whole file to bring it into the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(4 * MIB):
            pass


# --- machine description -----------------------------------------------------

def first(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        s = (out.stdout or out.stderr).strip()
        return s.splitlines()[0] if s else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def read(path, default="?"):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return default


def cpu_stat():
    """(busy, steal) jiffies over all CPUs from /proc/stat."""
    line = read("/proc/stat", "cpu 0 0 0 0 0 0 0 0").splitlines()[0].split()
    v = [int(x) for x in line[1:]] + [0] * 10
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return user + nice + system + irq + softirq, steal


def our_cpu():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def machine(kluis, work):
    cpuinfo = read("/proc/cpuinfo", "")
    m = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M)
    flags = set(flags.group(1).split()) if flags else set()
    simd = ", ".join(f for f in ("avx2", "avx512f") if f in flags) or "no AVX2"
    mem = re.search(r"^MemTotal:\s*(\d+)", read("/proc/meminfo", ""), re.M)
    os_rel = re.search(r'^PRETTY_NAME="?([^"\n]*)', read("/etc/os-release", ""), re.M)
    git = first(["git", "-C", os.path.dirname(os.path.abspath(__file__)),
                 "describe", "--always", "--dirty"])
    return {
        "cpu": m.group(1).strip() if m else platform.processor() or "?",
        "cores": os.cpu_count(),
        "simd": simd,
        "ram": f"{int(mem.group(1)) / (1 << 20):.1f} GiB" if mem else "?",
        "kernel": platform.release(),
        "debian": read("/etc/debian_version").strip(),
        "os": os_rel.group(1) if os_rel else "?",
        "fs": first(["findmnt", "-no", "FSTYPE,SOURCE", "-T", work]),
        "libsodium": first(["pkg-config", "--modversion", "libsodium"]),
        "age": first(["age", "--version"]),
        "minisign": first(["minisign", "-v"]),
        "kluis": first([kluis, "--version"]),
        "git": git,
    }


# --- the benchmark -------------------------------------------------------------

class Bench:
    def __init__(self, kluis, work, size_mb, runs):
        self.k = kluis
        self.w = work
        self.size = size_mb * MIB
        self.size_mb = size_mb
        self.runs = runs
        self.err = os.path.join(work, "stderr")
        p = lambda n: os.path.join(work, n)
        self.data = p("data")
        self.key = p("age.key")
        self.data_age = p("data.age")
        self.ms_key, self.ms_pub = p("ms.key"), p("ms.pub")
        self.kk = p("kk")  # kluis keygen prefix
        self.data_sig = p("data.minisig")
        self.p = p
        self.gen = os.path.join(os.path.dirname(kluis), "tools", "kluis-gen")
        self.top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.registers = {}
        self.packages = {}
        self.records = {}
        self.export_ready = False

    def export_setup_keys(self):
        p, k = self.p, self.k
        if not self.export_ready:
            for who in ("disc", "rcpt"):
                sh([k, "keygen", "--out", p(who), "--no-passphrase"],
                   stdout=subprocess.DEVNULL)
            sh([k, "protocol", "set-keys",
                os.path.join(self.top, "protocols", "opgroeien-serv-2021.json"),
                "--discloser", p("disc.pub"), "--recipient", p("rcpt.pub"),
                "-o", p("proto.json")], stdout=subprocess.DEVNULL)
            os.makedirs(p("pkg"), exist_ok=True)
            self.export_ready = True

    def export_setup(self, op):
        """Keys, the seed protocol with them, and the register (untimed)."""
        p = self.p
        self.export_setup_keys()
        reg = p(f"register-{op}.csv")
        if not os.path.exists(reg):
            t = time.perf_counter()
            sh([self.gen, "--rows", str(EXPORT_ROWS[op]), "--seed", "1",
                "--out", reg])
            print(f"bench: {op}: register of {EXPORT_ROWS[op]} rows, "
                  f"{os.path.getsize(reg) / 1e6:.0f} MB, in "
                  f"{time.perf_counter() - t:.1f}s", flush=True)
            warm(reg)
        self.registers[op] = reg
        return os.path.getsize(reg)

    def receive_setup(self, op):
        """A package of the wanted number of records (untimed): a register
        made large enough, exported once; the naive pipeline's table."""
        p, k = self.p, self.k
        self.export_setup_keys()
        want = RECEIVE_RECORDS[op]
        d = p(f"rx-{op}")
        os.makedirs(d, exist_ok=True)
        rows = int(want / 0.72) + 1000
        for _ in range(4):
            reg = p(f"rx-register-{op}.csv")
            t = time.perf_counter()
            sh([self.gen, "--rows", str(rows), "--seed", "3", "--out", reg])
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
            rm(p("rx-ledger.db"), p("rx-ledger.db-wal"), p("rx-ledger.db-shm"),
               p("rx-ledger.db-lock"))
            sh([k, "export", "-q", "-p", p("proto.json"), "-r", reg,
                "-t", p("rcpt.pub"), "-s", p("disc.minisign.key"), "-o", d,
                "--ledger", p("rx-ledger.db")])
            os.unlink(reg)
            rep = [f for f in os.listdir(d) if f.endswith(".report.json")][0]
            with open(os.path.join(d, rep), encoding="utf-8") as f:
                got = json.load(f)["counts"]["selected"]
            if got >= want:
                break
            rows = int(rows * want / got) + 1000
        pkg = os.path.join(d, [f for f in os.listdir(d) if f.endswith(".age")][0])
        print(f"bench: {op}: package of {got} records, "
              f"{os.path.getsize(pkg) / 1e6:.0f} MB, in "
              f"{time.perf_counter() - t:.1f}s", flush=True)
        warm(pkg)
        self.packages[op] = pkg
        self.records[op] = got
        return os.path.getsize(pkg)

    def naive_clean(self):
        """A fresh database with an unindexed table of the package's 13
        columns (so .import does not take the head line for names)."""
        db = self.p("naive.db")
        rm(db, db + "-journal", db + "-wal")
        cols = ", ".join(f"c{i} TEXT" for i in range(13))
        sh(["sqlite3", db, f"CREATE TABLE t ({cols})"])

    def ws_clean(self):
        """Each receive is a workspace's first package: a fresh one."""
        ws = self.p("ws")
        if os.path.isdir(ws):
            for f in os.listdir(ws):
                os.unlink(os.path.join(ws, f))
            os.rmdir(ws)
        sh([self.k, "init", ws, "-p", self.p("proto.json"),
            "-i", self.p("rcpt.age.key"), "-u", "bench"],
           stdout=subprocess.DEVNULL)

    def export_clean(self):
        """Each export is a first package: a fresh ledger, an empty DIR."""
        pkg = self.p("pkg")
        for f in os.listdir(pkg):
            os.unlink(os.path.join(pkg, f))
        led = self.p("ledger.db")
        rm(led, led + "-wal", led + "-shm", led + "-lock")

    def setup(self):
        t = time.perf_counter()
        with open(self.data, "wb") as f:
            left = self.size
            while left:
                n = min(left, 4 * MIB)
                f.write(os.urandom(n))
                left -= n
        print(f"bench: {self.size_mb} MiB of random data in "
              f"{time.perf_counter() - t:.1f}s", flush=True)
        sh(["age-keygen", "-o", self.key], stderr=subprocess.DEVNULL)
        self.rcpt = sh(["age-keygen", "-y", self.key], capture_output=True,
                       text=True).stdout.strip()
        sh(["minisign", "-G", "-W", "-p", self.ms_pub, "-s", self.ms_key],
           stdout=subprocess.DEVNULL)
        sh([self.k, "keygen", "--out", self.kk, "--no-passphrase"],
           stdout=subprocess.DEVNULL)
        # Reference inputs, so both tools read identical bytes: the age
        # ciphertext for decrypt, the minisign signature for verify.
        sh(["age", "-e", "-r", self.rcpt, "-o", self.data_age, self.data])
        sh(["minisign", "-S", "-s", self.ms_key, "-m", self.data,
            "-x", self.data_sig], stdout=subprocess.DEVNULL)

    def commands(self, op):
        """(baseline argv, kluis argv, {who: output files to remove before
        that tool's run})."""
        p, k, d = self.p, self.k, self.data
        if op == "encrypt":
            return (["age", "-e", "-r", self.rcpt, "-o", p("enc.age"), d],
                    [k, "encrypt", "-r", self.rcpt, "-o", p("enc.kluis"), d],
                    {"base": [p("enc.age")], "kluis": [p("enc.kluis")]})
        if op == "decrypt":
            return (["age", "-d", "-i", self.key, "-o", p("dec.age"), self.data_age],
                    [k, "decrypt", "-i", self.key, "-o", p("dec.kluis"), self.data_age],
                    {"base": [p("dec.age")], "kluis": [p("dec.kluis")]})
        if op == "encrypt-stdout":
            return (["age", "-e", "-r", self.rcpt, d],
                    [k, "encrypt", "-r", self.rcpt, d], {})
        if op == "decrypt-stdout":
            return (["age", "-d", "-i", self.key, self.data_age],
                    [k, "decrypt", "-i", self.key, self.data_age], {})
        if op == "sign":
            return (["minisign", "-S", "-s", self.ms_key, "-m", d,
                     "-x", p("sig.minisign")],
                    [k, "sign", "-s", self.kk + ".minisign.key",
                     "-x", p("sig.kluis"), d],
                    {"base": [p("sig.minisign")], "kluis": [p("sig.kluis")]})
        if op == "verify":
            return (["minisign", "-V", "-q", "-p", self.ms_pub, "-m", d,
                     "-x", self.data_sig],
                    [k, "verify", "-q", "-p", self.ms_pub, "-x", self.data_sig, d],
                    {})
        if op in EXPORT_ROWS:
            reg = self.registers[op]
            return (["age", "-e", "-R", p("rcpt.pub"), "-o", p("reg.age"), reg],
                    [k, "export", "-q", "-p", p("proto.json"), "-r", reg,
                     "-t", p("rcpt.pub"), "-s", p("disc.minisign.key"),
                     "-o", p("pkg"), "--ledger", p("ledger.db")],
                    {"base": [p("reg.age")], "kluis": self.export_clean})
        if op in RECEIVE_RECORDS:
            pkg = self.packages[op]
            naive = ("age -d -i '%s' '%s' | sqlite3 '%s' "
                     "'.import --csv --skip 1 /dev/stdin t'" % (
                         p("rcpt.age.key"), pkg, p("naive.db")))
            return (["sh", "-c", naive],
                    [k, "receive", "-q", p("ws"), pkg],
                    {"base": self.naive_clean, "kluis": self.ws_clean})
        raise ValueError(op)

    def verify_outputs(self, op):
        """After the timed runs: the outputs are right (untimed)."""
        p = self.p
        ok = True
        if op == "encrypt":
            # Each tool's ciphertext decrypts (with the other tool) to the input.
            ok = (pipe_cmp(["age", "-d", "-i", self.key, p("enc.kluis")], self.data)
                  and pipe_cmp([self.k, "decrypt", "-i", self.key, p("enc.age")],
                               self.data))
        elif op == "decrypt":
            ok = cmp_files(p("dec.age"), self.data) and cmp_files(p("dec.kluis"), self.data)
        elif op in EXPORT_ROWS:
            pkg = [f for f in os.listdir(p("pkg")) if f.endswith(".age")]
            ok = (len(pkg) == 1 and subprocess.run(
                ["minisign", "-V", "-q", "-p", p("disc.minisign.pub"), "-m",
                 os.path.join(p("pkg"), pkg[0])]).returncode == 0)
        elif op in RECEIVE_RECORDS:
            st = subprocess.run([self.k, "status", "--json", p("ws")],
                                capture_output=True, text=True, check=True)
            ok = json.loads(st.stdout)["records"] == self.records[op]
        elif op == "sign":
            ok = (subprocess.run(["minisign", "-V", "-q", "-p", self.kk + ".minisign.pub",
                                  "-m", self.data, "-x", p("sig.kluis")]).returncode == 0
                  and subprocess.run([self.k, "verify", "-q", "-p", self.ms_pub,
                                      "-x", p("sig.minisign"), self.data]).returncode == 0)
        if not ok:
            die(f"{op}: outputs do not match the input")
        return ok

    def run_op(self, op):
        base, kl, outs = self.commands(op)
        rows = []
        for i in range(self.runs):
            # Alternate which tool goes first, to cancel drift.
            order = [("base", base), ("kluis", kl)]
            if i % 2:
                order.reverse()
            row = {}
            for who, argv in order:
                clean = outs.get(who, [])
                if callable(clean):
                    clean()
                else:
                    rm(*clean)
                # Flush dirty pages of earlier runs so their writeback does
                # not land inside this run's timing (untimed).
                os.sync()
                r = spawn(argv, self.p("rss"), errfile=self.err)
                check_run(argv, r, self.err)
                row[who] = r
            rows.append(row)
            print(f"bench: {op:15s} run {i + 1}/{self.runs}: "
                  f"baseline {row['base']['wall']:.2f}s, kluis {row['kluis']['wall']:.2f}s",
                  flush=True)
        verified = self.verify_outputs(op)
        floor = self.crypto_floor(op) if op in EXPORT_ROWS else None
        for fs in outs.values():
            if not callable(fs):
                rm(*fs)
        size = (os.path.getsize(self.registers[op]) if op in EXPORT_ROWS
                else os.path.getsize(self.packages[op]) if op in RECEIVE_RECORDS
                else self.size)
        s = summarise(op, rows, size, verified)
        s["floor"] = floor
        return s

    def crypto_floor(self, op):
        """The crypto the package format asks for, on this export's own
        package, each pass alone on one core (untimed setup, timed passes):
        ChaCha20-Poly1305 over the records (`kluis encrypt`), BLAKE2b over
        the records (the records digest; `kluis sign` of them costs the same
        hash), BLAKE2b over the package file (the signature's prehash).
        No export, however its parsing is done, can use less CPU than their
        sum, nor take less wall time than half of it on two cores."""
        p, k = self.p, self.k
        pkg = os.path.join(p("pkg"), [f for f in os.listdir(p("pkg"))
                                      if f.endswith(".age")][0])
        plain, sig = p("floor-records"), p("floor.minisig")
        sh([k, "decrypt", "-i", p("rcpt.age.key"), "-o", plain, pkg])
        warm(plain)
        passes = {
            "encrypt": [k, "encrypt", "-R", p("rcpt.pub"), plain],
            "records digest": [k, "sign", "-s", p("disc.minisign.key"),
                               "-x", sig, plain],
            "prehash": [k, "sign", "-s", p("disc.minisign.key"), "-x", sig,
                        pkg],
        }
        cpu = {}
        for name, argv in passes.items():
            got = []
            for _ in range(self.runs):
                rm(sig)
                r = spawn(argv, p("rss"), errfile=self.err)
                check_run(argv, r, self.err)
                got.append(r["cpu"])
            cpu[name] = statistics.median(got)
        rm(sig, plain)
        return {"pkg_bytes": os.path.getsize(pkg), "cpu": cpu,
                "total": sum(cpu.values())}


def floor_text(results):
    """What the format's crypto alone costs, next to the export's figures."""
    out = []
    for s in results:
        f = s.get("floor")
        if not f:
            continue
        c = f["cpu"]
        best = f["total"] / 2
        out.append(
            f"- {s['op']}: package {f['pkg_bytes'] / 1e6:.0f} MB; "
            f"encrypt {c['encrypt']:.2f} + records digest "
            f"{c['records digest']:.2f} + prehash {c['prehash']:.2f} = "
            f"**{f['total']:.2f} CPU-s**, so at best {best:.2f} s wall on "
            f"two cores = **{best / s['base_s']:.2f}×** the baseline's "
            f"{s['base_s']:.2f} s before a byte is parsed.  The export "
            f"used {s['kluis_cpu']:.2f} CPU-s: "
            f"{s['kluis_cpu'] - f['total']:.2f} CPU-s for everything else.")
    if not out:
        return ""
    return ("\n## The export's crypto floor\n\n"
            "Each pass the package format asks for, timed alone with kluis's\n"
            "own commands on the package just made (median CPU seconds of "
            "the runs):\n\n" + "\n".join(out) + "\n")


def summarise(op, rows, size, verified):
    def med(who, key):
        return statistics.median(r[who][key] for r in rows)

    ratios = [r["kluis"]["wall"] / r["base"]["wall"] for r in rows]
    cpu_ratios = [r["kluis"]["cpu"] / r["base"]["cpu"] for r in rows
                  if r["base"]["cpu"] > 0]
    s = {
        "op": op,
        "rows": rows,
        "verified": verified,
        "base_s": med("base", "wall"),
        "kluis_s": med("kluis", "wall"),
        "base_cpu": med("base", "cpu"),
        "kluis_cpu": med("kluis", "cpu"),
        "base_user": med("base", "user"), "base_sys": med("base", "sys"),
        "kluis_user": med("kluis", "user"), "kluis_sys": med("kluis", "sys"),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios), "ratio_max": max(ratios),
        "cpu_ratio": statistics.median(cpu_ratios) if cpu_ratios else float("nan"),
        "base_rss": max(r["base"]["rss_kib"] for r in rows) / 1024,
        "kluis_rss": max(r["kluis"]["rss_kib"] for r in rows) / 1024,
    }
    s["ratio_of_medians"] = s["kluis_s"] / s["base_s"]
    s["base_mbs"] = size / s["base_s"] / 1e6
    s["kluis_mbs"] = size / s["kluis_s"] / 1e6
    return s


# --- report ----------------------------------------------------------------------

def table(results, ops):
    label = {o: l for o, l, _ in OPS}
    goal = {o: g for o, _, g in OPS}
    h = ("| operation | baseline | baseline s | kluis s | **ratio kluis/baseline** "
         "(min–max) | baseline MB/s | kluis MB/s | CPU s baseline / kluis "
         "| CPU ratio | peak RSS MiB baseline / kluis | goal |")
    lines = [h, "|" + "---|" * 11]
    for s in results:
        op = s["op"]
        base = baseline_name(op)
        met = goal_met(s)
        g = "—" if met is None else (goal_text(op) + ": " +
                                     ("met" if met else "**missed**"))
        lines.append(
            f"| {label[op]} | {base} | {s['base_s']:.2f} | {s['kluis_s']:.2f} "
            f"| **{s['ratio']:.3f}** ({s['ratio_min']:.2f}–{s['ratio_max']:.2f}) "
            f"| {s['base_mbs']:.0f} | {s['kluis_mbs']:.0f} "
            f"| {s['base_cpu']:.2f} / {s['kluis_cpu']:.2f} | {s['cpu_ratio']:.2f} "
            f"| {s['base_rss']:.1f} / {s['kluis_rss']:.1f} | {g} |")
    return "\n".join(lines)


def raw_table(results):
    lines = ["| operation | run | first | baseline wall s (user+sys) | kluis wall s (user+sys) | ratio |",
             "|---|---|---|---|---|---|"]
    for s in results:
        for i, r in enumerate(s["rows"]):
            b, k = r["base"], r["kluis"]
            lines.append(
                f"| {s['op']} | {i + 1} | {'baseline' if i % 2 == 0 else 'kluis'} "
                f"| {b['wall']:.3f} ({b['user']:.2f}+{b['sys']:.2f}) "
                f"| {k['wall']:.3f} ({k['user']:.2f}+{k['sys']:.2f}) "
                f"| {k['wall'] / b['wall']:.3f} |")
    return "\n".join(lines)


def report(m, results, args, env):
    busy = env["other_cores"]
    quiet = busy < 0.25  # load average lags: the build just before raises it
    goal_ops = [s for s in results if goal_met(s) is not None]
    if goal_ops:
        verdict = "\n".join(
            f"- **{s['op']}: goal {'met' if goal_met(s) else 'not met'}** — "
            f"{s['ratio']:.2f}× {baseline_name(s['op'])}, {s['kluis_rss']:.1f} MiB "
            f"(goal: {goal_text(s['op'])})"
            for s in goal_ops)
        if not quiet:
            verdict += "\n\nMeasured while other work ran on the machine (see Machine)."
    else:
        verdict = "(no operation with a goal was run)"
    load_note = ("quiet machine" if quiet else
                 "**measured while other work ran** — treat ratios with care")
    return f"""# kluis benchmark results

Generated by `make bench` (`bench/run.sh`) — regenerated on every run, do not
edit by hand.  What is measured and how: `bench/README.md`.

{verdict}

## Results

{args.size_mb} MiB of random data for encrypt … verify; for export, registers
of clean generated rows (`kluis-gen --seed 1`; the MB/s columns count
register bytes) against `age -e -R` of the same register; {args.runs} timed
pairs per operation,
{env['date']}.  Ratio = **median of the per-pair ratios** kluis/baseline
(each pair runs both tools back to back, alternating which goes first);
below 1.0 means kluis is faster.  MB/s = 10⁶ bytes per second of median wall
time.  CPU ratio: median per-pair ratio of user+sys CPU seconds (less
sensitive to other load than wall time, but blind to waiting for the disk
and to help from the second core).  Peak RSS: the largest over the runs of
the child's `ru_maxrss`, as GNU time reports it (`%M`).

{table(results, args.ops)}

Ratio of the medians instead of median of ratios: {", ".join(f"{s['op']} {s['ratio_of_medians']:.2f}" for s in results)}.
{floor_text(results)}
## Machine

- CPU: {m['cpu']}, {m['cores']} cores ({m['simd']}); RAM {m['ram']}
- Kernel {m['kernel']}; {m['os']} (debian_version {m['debian']}); scratch filesystem {m['fs']}
- libsodium {m['libsodium']}; age {m['age']}; {m['minisign']}; {m['kluis']} (git {m['git']})
- Load: `{env['uptime_start']}` before, `{env['uptime_end']}` after.
  CPU time of other processes during the benchmark: {env['other_s']:.1f} core-seconds
  over {env['elapsed']:.0f} s (≈ {busy:.2f} of {m['cores']} cores; includes kernel
  writeback threads flushing the benchmark's own output), steal {env['steal_s']:.1f} s
  — {load_note}.

## What the figures mean

- Every run reads a file already in the page cache: dropping the cache needs
  privileges, so the input gets one untimed warm-up read instead.  Both tools
  therefore read from memory; the figures compare CPU and write cost, not the disk.
- Before every timed run, `sync` (untimed) flushes earlier runs' dirty pages.
  With `-o`, kluis `fsync`s the output before it gives it its name (and
  the directory after), so its time includes getting the data to disk
  (written behind by a writer thread with O_DIRECT, so nothing is left
  for the kernel's writeback); `age -o` does not
  sync, so its timing leaves 1 GiB of dirty pages for the kernel to write
  later.  The `> /dev/null` rows take the output file out of the picture
  and compare the crypto and read paths alone.
- decrypt/verify: both tools read the same input (an age ciphertext made by
  age, a signature made by minisign); each output is checked after the timed
  runs (decrypted files with `cmp`, each tool's ciphertext decrypted by the
  other tool, each signature verified by the other tool).
- CPU s = user+sys of the child (rusage); age is a Go program and may use more
  than one core (GC), so its CPU can exceed its wall time.
- export: `kluis export` reads the register, selects, validates and
  normalises every row, writes the package (encrypted, signed, fsynced),
  the report and the ledger (a fresh one per run, so every run is a first
  package).  The baseline only encrypts the same register bytes with
  `age -e -R` (no fsync).  The registers are generated untimed, once.
- receive: `kluis receive` verifies the signature, decrypts, checks the
  manifest, validates every record again, links the records of one person,
  draws their codes, seals the identities and writes research and vault
  rows in one transaction (a fresh workspace per run, made untimed).  The
  baseline is the naive pipeline `age -d | sqlite3 .import` into an
  unindexed table of 13 text columns: no signature, no checks, no linking,
  no sealing.  The MB/s columns count package bytes; the package is
  exported once, untimed, from a generated register made big enough.
- Wall-time figures are for this machine only; tests never assert on them.

## All runs

{raw_table(results)}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kluis", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    args = ap.parse_args()
    args.size_mb = int(os.environ.get("BENCH_SIZE_MB", "1024"))
    args.runs = int(os.environ.get("BENCH_RUNS", "3"))
    known = [o for o, _, _ in OPS]
    args.ops = [o.strip() for o in os.environ.get("BENCH_OPS", ",".join(known)).split(",")
                if o.strip()]
    for o in args.ops:
        if o not in known:
            die(f"unknown operation '{o}' in BENCH_OPS (known: {', '.join(known)})")
    args.ops = [o for o in known if o in args.ops]
    if args.runs < 1 or args.size_mb < 1:
        die("BENCH_RUNS and BENCH_SIZE_MB must be positive")
    if args.runs < 3:
        print("bench: note: fewer than 3 runs; the issue asks for at least 3",
              file=sys.stderr)

    env = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
           "uptime_start": first(["uptime"]),
           "load_start": os.getloadavg()[0]}
    m = machine(args.kluis, args.work)
    b = Bench(args.kluis, args.work, args.size_mb, args.runs)
    print(f"bench: {m['kluis']} vs {m['age']} / {m['minisign']}, "
          f"{args.size_mb} MiB, {args.runs} runs, in {args.work}", flush=True)
    os.environ["KLUIS_PASSPHRASE"] = PASSPHRASE
    if any(o not in EXPORT_ROWS and o not in RECEIVE_RECORDS for o in args.ops):
        b.setup()
        warm(b.data)
        warm(b.data_age)
    for o in args.ops:
        if o in EXPORT_ROWS:
            b.export_setup(o)
        if o in RECEIVE_RECORDS:
            b.receive_setup(o)

    busy0, steal0 = cpu_stat()
    ours0, t0 = our_cpu(), time.monotonic()
    results = [b.run_op(op) for op in args.ops]
    busy1, steal1 = cpu_stat()
    ours1, t1 = our_cpu(), time.monotonic()
    hz = os.sysconf("SC_CLK_TCK")
    env["elapsed"] = t1 - t0
    env["other_s"] = max(0.0, (busy1 - busy0) / hz - (ours1 - ours0))
    env["steal_s"] = (steal1 - steal0) / hz
    env["other_cores"] = env["other_s"] / env["elapsed"]
    env["uptime_end"] = first(["uptime"])

    text = report(m, results, args, env)
    tmp = args.results + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.results)
    print()
    print(table(results, args.ops))
    print()
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['ram']}; "
          f"load before {env['load_start']:.2f}, other CPU ≈ {env['other_cores']:.2f} cores")
    print(f"bench: report written to {args.results}")


if __name__ == "__main__":
    main()
