#!/usr/bin/env python3
"""Turns bench/run.sh's raw.tsv into the Markdown table of medians, ratios and targets.

    python3 bench/summarize.py RESULTS/raw.tsv [RESULTS/env.md] > table.md

A ratio is how many times better Berth is than the peer on that row (> 1: Berth is better),
whichever way the metric points: for a throughput it is Berth / peer, for a time or latency it is
peer / Berth. The targets are the issue's, each a ratio against registry:2 from the same run,
except W6 and W7, which are absolute, and the physical-limit rows, which compare Berth with what
this machine can do at all.
"""
import collections
import statistics
import sys

SERVERS = ["registry2", "distribution", "berth"]
NAMES = {"registry2": "registry:2", "distribution": "distribution v3", "berth": "Berth"}

# (workload, phase, variant, metric, label, unit, higher_is_better, target)
# target: ("ratio", x) Berth vs registry:2 at least x;  ("max", x) Berth's value at most x.
ROWS = [
    ("W1", "plain", "stream", "mib_per_s", "push, one streamed PATCH", "MiB/s", True, ("ratio", 1.5)),
    ("W1", "plain", "chunked", "mib_per_s", "push, 8 MiB PATCHes", "MiB/s", True, ("ratio", 1.5)),
    ("W1", "tls", "stream", "mib_per_s", "push, one streamed PATCH", "MiB/s", True, ("ratio", 1.5)),
    ("W2", "plain", "full", "mib_per_s", "pull, full GET", "MiB/s", True, ("ratio", 1.2)),
    ("W2", "plain", "range", "mib_per_s", "pull, Range from the middle", "MiB/s", True, ("ratio", 1.2)),
    ("W2", "plain", "again", "mib_per_s", "pull, full GET again (third download of the process)", "MiB/s", True, ("ratio", 1.2)),
    ("W2", "tls", "full", "mib_per_s", "pull, full GET", "MiB/s", True, ("ratio", 1.0)),
    ("W2", "tls", "range", "mib_per_s", "pull, Range from the middle", "MiB/s", True, ("ratio", 1.0)),
    ("W2", "tls", "again", "mib_per_s", "pull, full GET again (third download of the process)", "MiB/s", True, ("ratio", 1.0)),
    ("W3", "plain", "pulls", "p99", "concurrent pulls, p99 per pull", "s", False, ("ratio", 2.0)),
    ("W3", "plain", "pulls", "p50", "concurrent pulls, p50 per pull", "s", False, None),
    ("W3", "plain", "pulls", "mib_per_s", "concurrent pulls, throughput", "MiB/s", True, None),
    ("W3", "tls", "pulls", "p99", "concurrent pulls, p99 per pull", "s", False, ("ratio", 2.0)),
    ("W3", "tls", "pulls", "p50", "concurrent pulls, p50 per pull", "s", False, None),
    ("W3", "tls", "pulls", "mib_per_s", "concurrent pulls, throughput", "MiB/s", True, None),
    ("W4", "plain", "head", "req_per_s", "manifest HEAD by tag, basic auth", "req/s", True, ("ratio", 5.0)),
    ("W4", "plain", "head", "p99_ms", "manifest HEAD by tag, p99", "ms", False, None),
    ("W4", "plain", "get-wrk", "req_per_s", "manifest GET by tag, basic auth (wrk)", "req/s", True, ("ratio", 5.0)),
    ("W4", "plain", "get-wrk", "p99_ms", "manifest GET by tag, p99 (wrk)", "ms", False, None),
    ("W4", "plain", "get", "req_per_s", "manifest GET by tag, basic auth (Go generator, cross-check)", "req/s", True, None),
    ("W4", "tls", "head", "req_per_s", "manifest HEAD by tag, basic auth", "req/s", True, ("ratio", 5.0)),
    ("W4", "tls", "head", "p99_ms", "manifest HEAD by tag, p99", "ms", False, None),
    ("W4", "tls", "get-wrk", "req_per_s", "manifest GET by tag, basic auth (wrk)", "req/s", True, ("ratio", 5.0)),
    ("W4", "tls", "get-wrk", "p99_ms", "manifest GET by tag, p99 (wrk)", "ms", False, None),
    ("W5", "plain", "ci", "req_per_s", "CI push: small blobs + manifests", "req/s", True, ("ratio", 2.0)),
    ("W5", "plain", "ci", "seconds", "CI push: wall time", "s", False, None),
    ("W6", "plain", "small", "peak_rss_mib", "peak RSS after pushing {size}", "MiB", False, ("max", 300)),
    ("W6", "plain", "large", "peak_rss_mib", "peak RSS after pushing {size}", "MiB", False, ("max", 300)),
    ("W7", "plain", "startup", "ms", "start to first 200 on /v2/", "ms", False, ("max", 1000)),
    ("W7", "plain", "startup", "cpu_ms", "CPU time (user+sys) until then", "ms", False, None),
    ("W7", "tls", "startup", "ms", "start to first 200 on /v2/", "ms", False, ("max", 1000)),
    ("W7", "tls", "startup", "cpu_ms", "CPU time (user+sys) until then", "ms", False, None),
]


def fmt(v, unit):
    if v is None:
        return "–"
    if unit in ("s",):
        return f"{v:.2f} s"
    if unit == "ms":
        return f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"
    if unit == "MiB/s":
        return f"{v:.0f} MiB/s"
    if unit == "req/s":
        return f"{v:,.0f}"
    if unit == "MiB":
        return f"{v:.0f} MiB"
    return f"{v:g}"


def main():
    raw, env = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    samples = collections.defaultdict(list)
    rounds = set()
    with open(raw) as f:
        next(f)
        for line in f:
            rnd, phase, wl, variant, server, metric, value = line.rstrip("\n").split("\t")
            if not rnd.isdigit():  # W6's restarts are not W7 samples
                continue
            rounds.add(int(rnd))
            samples[(wl, phase, variant, server, metric)].append(float(value))
    med = {k: statistics.median(v) for k, v in samples.items()}

    out = []
    if env:
        out.append(open(env).read().rstrip() + "\n")
    out.append(f"# Results: medians of {len(rounds)} round(s)\n")
    loads = [v for (wl, *_rest), vs in samples.items() if wl == "ENV" for v in vs]
    if loads:
        out.append(f"Machine load (1-minute load average at round starts and ends, {len(loads)} readings): "
                   f"min {min(loads):.1f}, median {statistics.median(loads):.1f}, max {max(loads):.1f} on "
                   f"{__import__('os').cpu_count()} cores. Anything above 0 is other work sharing the CPUs.\n")
    out.append("A ratio is how many times better Berth is than that peer (> 1: Berth better). "
               "Targets are against registry:2 in this same run; W6 and W7 are absolute.\n")
    out.append("| workload | protocol | what | registry:2 | distribution v3 | Berth | Berth vs registry:2 | Berth vs v3 | target | met |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for wl, phase, variant, metric, label, unit, higher, target in ROWS:
        vals = {s: med.get((wl, phase, variant, s, metric)) for s in SERVERS}
        size = med.get((wl, phase, variant, "berth", "size_mib"))
        if size:
            label = label.format(size=f"{size / 1024:g} GiB" if size >= 1024 else f"{size:g} MiB")
        if all(v is None for v in vals.values()):
            continue
        ratios = {}
        for s in ("registry2", "distribution"):
            b, p = vals["berth"], vals[s]
            if b is None or p is None or b == 0 or p == 0:
                ratios[s] = None
            else:
                ratios[s] = b / p if higher else p / b
        tgt, met = "", ""
        if target:
            kind, x = target
            if kind == "ratio":
                tgt = f"≥ {x:g}×" if higher else f"≤ {1 / x:g}× registry:2's"
                if ratios["registry2"] is not None:
                    met = "yes" if ratios["registry2"] >= x else "**no**"
            else:
                tgt = f"≤ {x:g} {unit}"
                if vals["berth"] is not None:
                    met = "yes" if vals["berth"] <= x else "**no**"
            verdicts.append((f"{wl} {label} ({phase})", met))
        r = lambda s: "–" if ratios[s] is None else f"{ratios[s]:.2f}×"
        out.append(f"| {wl} | {'TLS' if phase == 'tls' else 'HTTP'} | {label} | "
                   + " | ".join(fmt(vals[s], unit) for s in SERVERS)
                   + f" | {r('registry2')} | {r('distribution')} | {tgt} | {met} |")

    # Physical limits for W1/W2: the same bytes, on this machine.
    lim = {m: med.get(("L", "plain", "limit", "machine", m)) for m in
           ("sha256_s", "disk_fsync_s", "disk_direct_s", "loopback_s", "java_direct64k_mib_s", "java_heap1m_mib_s", "openssl_sha256_mib_s")}
    w1 = {s: med.get(("W1", "plain", "stream", s, "seconds")) for s in SERVERS}
    w1rate = {s: med.get(("W1", "plain", "stream", s, "mib_per_s")) for s in SERVERS}
    if lim["disk_fsync_s"] and w1rate["berth"]:
        size_mib = w1rate["berth"] * w1["berth"]
        rate = lambda secs: size_mib / secs
        sha_rates = {"Go crypto/sha256": rate(lim["sha256_s"]), "Java MessageDigest (64 KiB direct buffers, as Berth)":
                     lim["java_direct64k_mib_s"], "Java MessageDigest (1 MiB heap arrays)": lim["java_heap1m_mib_s"],
                     "OpenSSL": lim["openssl_sha256_mib_s"]}
        cached_disk, loop = rate(lim["disk_fsync_s"]), rate(lim["loopback_s"])
        direct_disk = rate(lim["disk_direct_s"]) if lim["disk_direct_s"] else None
        disk = max(cached_disk, direct_disk or 0)  # the disk's limit is the faster way to fill it
        best_sha = max(v for v in sha_rates.values() if v)
        limit = min(best_sha, disk, loop)
        out.append("\n## Physical limits for W1/W2 on this machine (same bytes, same disk)\n")
        out.append("| stage | MiB/s |")
        out.append("|---|---|")
        for k, v in sha_rates.items():
            if v:
                out.append(f"| SHA-256 in process, {k} | {v:.0f} |")
        out.append(f"| sequential write through the page cache + fsync of the file + rename + fsync of the directory "
                   f"(registry:2's way, and Berth's below 4 MiB) | {cached_disk:.0f} |")
        if direct_disk:
            out.append(f"| the same with O_DIRECT writes of 2 MiB (Berth's way past an upload's first 4 MiB) | {direct_disk:.0f} |")
        out.append(f"| loopback TCP copy | {loop:.0f} |")
        out.append(f"| **W1 limit** (slowest stage, fastest SHA-256 engine) | **{limit:.0f}** |")
        java_limit = min(lim["java_direct64k_mib_s"] or limit, disk, loop)
        out.append(f"| W1 limit with the JDK's SHA-256 (the engine Berth uses) | {java_limit:.0f} |")
        out.append("")
        out.append("| server | W1 streamed push, HTTP | fraction of the W1 limit | within 1.25× of it (target) |")
        out.append("|---|---|---|---|")
        for s in SERVERS:
            if w1rate[s]:
                frac = w1rate[s] / limit
                out.append(f"| {NAMES[s]} | {w1rate[s]:.0f} MiB/s | {frac:.2f} | "
                           + ("yes" if frac >= 0.8 else "no") + " |")
        verdicts.append(("W1 within 1.25× of the physical limit", "yes" if w1rate["berth"] / limit >= 0.8 else "**no**"))
        w2 = med.get(("W2", "plain", "full", "berth", "mib_per_s"))
        if w2:
            out.append(f"\nW2 (full GET, HTTP) reaches {w2 / loop:.2f} of the loopback copy rate ({loop:.0f} MiB/s).")

    out.append("\n## Targets\n")
    for name, met in verdicts:
        out.append(f"- {name}: {met or 'not measured'}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
