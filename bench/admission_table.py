#!/usr/bin/env python3
"""bench/admission.sh's raw.tsv -> a Markdown table: one row per webhook and pod, the targets, the ratios."""
import csv
import sys

VARIANTS = {
    "signed": "3 signed images, 64 connections",
    "unsigned": "3 unsigned images (refused), 64 connections",
    "paced": "3 signed images, 64 connections, each pausing 11 ms (the target rate)",
    "single": "3 signed images, 1 connection, one review every 50 ms",
}
SERVERS = ["berth", "standalone-cold", "policy-controller"]
TARGET_RPS = 5000
TARGET_P99_MS = 5.0
TARGET_COLD_P99_MS = 100.0


def main(raw, env):
    data = {}
    with open(raw, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            data.setdefault((row["server"], row["variant"]), {})[row["metric"]] = row["value"]

    def num(server, variant, metric):
        v = data.get((server, variant), {}).get(metric)
        return None if v is None else float(v)

    def ms(v):
        return "" if v is None else (f"{v:.2f} ms" if v < 100 else f"{v:,.0f} ms")

    def us(v):
        return "" if v is None else f"{v:,.0f} µs"

    out = [open(env).read().rstrip(), "", "## Reviews", ""]
    out.append("| webhook | pod | reviews/s | p50 | p90 | p99 | max | webhook CPU per review "
               "| registry CPU per review | API server CPU per review | API requests per review | load avg at start |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for server in SERVERS:
        for variant, what in VARIANTS.items():
            if (server, variant) not in data:
                continue
            rps = num(server, variant, "req_per_s")
            out.append("| " + " | ".join([
                server, what, f"{rps:,.0f}",
                ms(num(server, variant, "p50_ms")), ms(num(server, variant, "p90_ms")),
                ms(num(server, variant, "p99_ms")), ms(num(server, variant, "max_ms")),
                us(num(server, variant, "cpu_us_per_review_webhook")),
                us(num(server, variant, "cpu_us_per_review_registry")),
                us(num(server, variant, "cpu_us_per_review_apiserver")),
                data[(server, variant)].get("api_requests_per_review", ""),
                data[(server, variant)].get("loadavg1", ""),
            ]) + " |")

    out += ["", "## Targets (Berth's local verdicts, signed pod, 64 connections)", "",
            "| target | result | met |", "|---|---|---|"]
    rps, p99 = num("berth", "signed", "req_per_s"), num("berth", "signed", "p99_ms")
    if rps is not None:
        out.append(f"| more than {TARGET_RPS:,} reviews/s | {rps:,.0f} (as fast as 64 connections go) "
                   f"| {'yes' if rps > TARGET_RPS else '**no**'} |")
        prps, pp99 = num("berth", "paced", "req_per_s"), num("berth", "paced", "p99_ms")
        if prps is not None:
            met = prps > TARGET_RPS and pp99 < TARGET_P99_MS
            out.append(f"| p99 under {TARGET_P99_MS:g} ms at more than {TARGET_RPS:,} reviews/s | {pp99:.2f} ms "
                       f"at {prps:,.0f} reviews/s | {'yes' if met else '**no**'} |")
        out.append(f"| p99 under {TARGET_P99_MS:g} ms, at full load | {p99:.2f} ms at {rps:,.0f} reviews/s "
                   f"| {'yes' if p99 < TARGET_P99_MS else '**no**'} |")
    cold = num("standalone-cold", "single", "p99_ms")
    if cold is not None:
        out.append(f"| berth admission (standalone), cold, p99 under {TARGET_COLD_P99_MS:g} ms against a registry on loopback "
                   f"| {cold:.2f} ms (1 connection, every review fetched anew) | {'yes' if cold < TARGET_COLD_P99_MS else '**no**'} |")

    if ("policy-controller", "signed") in data:
        out += ["", "## Berth against policy-controller (how many times better Berth is)", "",
                "| pod | reviews/s | p50 | p99 |", "|---|---|---|---|"]
        for variant, what in VARIANTS.items():
            b, p = data.get(("berth", variant)), data.get(("policy-controller", variant))
            if not b or not p:
                continue
            # the single row runs at a fixed rate: its reviews/s compare nothing
            cells = ["—" if variant == "single" else f"{float(b['req_per_s']) / float(p['req_per_s']):,.0f}×"]
            for k in ("p50_ms", "p99_ms"):
                cells.append(f"{float(p[k]) / float(b[k]):,.0f}×")
            out.append(f"| {what} | " + " | ".join(cells) + " |")
        note = data.get(("policy-controller", "v3-bundles"), {}).get("verdict")
        if note:
            out += ["", f"policy-controller {note}; its rows use the same images with cosign v2 signatures added "
                        "(the same key)."]
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
