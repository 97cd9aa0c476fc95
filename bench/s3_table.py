"""bench/s3.sh's raw.tsv -> table.md: medians over the rounds, ratios Berth / peer, the S3 limit, the targets.

usage: s3_table.py RAW ENV SMOKE BERTH_NOTE
"""
import collections
import math
import statistics
import sys

raw, env, smoke, note = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
v = collections.defaultdict(list)
with open(raw) as f:
    next(f)
    for line in f:
        r, w, s, metric, value = line.rstrip("\n").split("\t")
        v[(w, s, metric)].append(float(value))


def med(w, s, m):
    return statistics.median(v[(w, s, m)]) if v[(w, s, m)] else math.nan


def fmt(x, digits):
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


BERTHS = [("berth-netty", "netty"), ("berth-crt", "crt")]
PEERS = [("distribution", "distribution v3"), ("registry2", "registry:2")]
# (workload, metric, label, digits, higher is better, target against distribution v3)
ROWS = [
    ("push", "mib_per_s", "push, one streamed PATCH + PUT, MiB/s", 0, True, 2.0),
    ("push", "commit_seconds", "push, the final PUT alone, s", 2, False, None),
    ("pull", "mib_per_s", "pull, one GET, MiB/s", 0, True, 1.2),
    ("pulls", "p99", "concurrent pulls, p99 (the slowest), s", 2, False, None),
    ("pulls", "p50", "concurrent pulls, p50, s", 2, False, None),
    ("pulls", "mib_per_s", "concurrent pulls, aggregate MiB/s", 0, True, None),
    ("catalog", "seconds", "_catalog, every page, s", 3, False, 2.0),
]


def ratio(w, m, hib, berth, peer):
    b, p = med(w, berth, m), med(w, peer, m)
    if math.isnan(b) or math.isnan(p) or b == 0 or p == 0:
        return math.nan
    return b / p if hib else p / b


print(open(env).read())
print("# Berth on S3 vs distribution v3 and registry:2, one versitygw\n")
if note:
    print(f"**{note}**\n")
print("Medians over the rounds. Ratios are how many times better Berth is (Berth / peer for MiB/s, peer / Berth "
      "for seconds): above 1, Berth is better. Limit: bench/s3limit straight to the S3 server (push: multipart "
      "upload, UNSIGNED-PAYLOAD, no SDK checksums; `signed`: payload SHA-256 signed and the SDK's CRC checksums; "
      "pull: one GetObject; concurrent pulls: the layer's GetObjects only; catalog: ListObjectsV2 of the "
      "repositories' prefix with a delimiter).\n")
print("| workload | Berth (netty) | Berth (crt) | distribution v3 | registry:2 | limit | "
      "netty vs v3 | crt vs v3 | netty vs registry:2 | crt vs registry:2 | target vs v3 | met (netty / crt) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for w, m, label, d, hib, target in ROWS:
    cells = [fmt(med(w, s, m), d) for s, _ in BERTHS + PEERS]
    lim = fmt(med(w, "limit", m), d)
    if w == "push" and m == "mib_per_s":
        lim += f" ({fmt(med(w, 'limit-signed', m), d)} signed)"
    if w == "push" and m == "commit_seconds":
        lim = ""
    rs = [ratio(w, m, hib, b, p) for p, _ in PEERS for b, _ in BERTHS]
    ratios = [fmt(x, 2) + ("×" if not math.isnan(x) else "") for x in rs]
    tgt, met = "", ""
    if target is not None:
        tgt = f"≥ {target}×"
        if smoke:
            met = "(smoke: not checked)"
        else:
            met = " / ".join("not measured" if math.isnan(x) else ("yes" if x >= target else "**no**") for x in rs[:2])
    print(f"| {label} | " + " | ".join(cells) + f" | {lim} | " + " | ".join(ratios) + f" | {tgt} | {met} |")

print("\n## Against the limit\n")
print("Each server's MiB/s as a fraction of the S3 server's own (bench/s3limit, unsigned).\n")
print("| workload | " + " | ".join(n for _, n in [("", "Berth (netty)"), ("", "Berth (crt)")] + PEERS) + " |")
print("|---|---|---|---|---|")
for w, m in (("push", "mib_per_s"), ("pull", "mib_per_s"), ("pulls", "mib_per_s")):
    lim = med(w, "limit", m)
    cells = [fmt(med(w, s, m) / lim, 2) for s, _ in BERTHS + PEERS]
    print(f"| {w} | " + " | ".join(cells) + " |")

loads = v[("machine", "start", "loadavg1")] + v[("machine", "end", "loadavg1")]
rounds = len(v[("machine", "start", "loadavg1")])
print(f"\nRounds: {rounds}; 1-minute load average at round boundaries: "
      f"{min(loads):g}–{max(loads):g} (2 cores: the S3 server, the registry and the client share them).")
counts = {s: sorted({int(x) for x in v[("catalog", s, "repositories")]}) for s, _ in BERTHS + PEERS}
print("Repositories listed: " + "; ".join(f"{s} {c}" for s, c in counts.items() if c) + ".")
for s, name in [("berth-netty", "Berth (netty)"), ("berth-crt", "Berth (crt)")] + PEERS + [("limit", "limit")]:
    if v[("push", s, "mib_per_s")]:
        print(f"\n{name} samples: push {', '.join(f'{x:.0f}' for x in v[('push', s, 'mib_per_s')])} MiB/s; "
              f"pull {', '.join(f'{x:.0f}' for x in v[('pull', s, 'mib_per_s')])} MiB/s; "
              f"pulls p99 {', '.join(f'{x:.2f}' for x in v[('pulls', s, 'p99')])} s; "
              f"catalog {', '.join(f'{x:.3f}' for x in v[('catalog', s, 'seconds')])} s")
