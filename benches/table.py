#!/usr/bin/env python3
"""Prints the README's benchmark tables from criterion's last run.

Usage: cargo bench && python3 benches/table.py
Reads target/criterion/<group>/<function>/new/estimates.json (medians).
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def median_ns(group, function):
    path = ROOT / group / function / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] if path.exists() else None


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


# The hot path: twostep against the limit and the peers.
groups = sorted(p.name for p in ROOT.iterdir() if p.name.startswith("verify_") and median_ns(p.name, "twostep"))
peers = sorted({f.name for g in groups for f in (ROOT / g).iterdir() if median_ns(g, f.name)} - {"twostep", "hmac_prepared"})
others = ["hmac_prepared", *peers]
print("| group | twostep | " + " | ".join(others) + " | " + " | ".join(f"twostep / {o}" for o in others) + " |")
print("|---" * (2 + 2 * len(others)) + "|")
for g in groups:
    ours = median_ns(g, "twostep")
    values = [median_ns(g, o) for o in others]
    cells = [fmt(ours)] + [fmt(v) if v else "–" for v in values]
    ratios = [f"{ours / v:.2f}×" if v else "–" for v in values]
    print(f"| `{g}` | " + " | ".join(cells + ratios) + " |")

# Cost against window size and code generation.
window = [(k, median_ns("verify_window_sha1", f"pm{k}")) for k in range(6)]
if all(v for _, v in window):
    print()
    print("| window (steps each way) | steps computed | median | per step |")
    print("|---|---|---|---|")
    for k, v in window:
        print(f"| ±{k} | {2 * k + 1} | {fmt(v)} | {fmt(v / (2 * k + 1))} |")
gen = [(a, median_ns("generate", a)) for a in ("sha1", "sha256", "sha512")]
if all(v for _, v in gen):
    print()
    print("| generate | median |")
    print("|---|---|")
    for a, v in gen:
        print(f"| `generate/{a}` | {fmt(v)} |")

# The service path.
rows = [
    ("service_verify", "memory_store", "twostep", "≤ 3× bare verify", lambda a, b: a / b, "×"),
    ("recovery_verify", "single", "twostep", "", None, ""),
    ("recovery_verify", "set16", "twostep", "", None, ""),
    ("service_verify_threads", "two_threads", "one_thread", "≥ 1.8× one thread's throughput", lambda a, b: b / a, "× throughput"),
]
if any(median_ns(g, a) for g, a, *_ in rows):
    print()
    print("| measure | median | against | median | ratio | target |")
    print("|---|---|---|---|---|---|")
    for group, a, b, target, ratio, unit in rows:
        ma = median_ns(group, a)
        mb = median_ns(group, b) or median_ns("service_verify", b)
        if ma and mb and ratio:
            print(f"| `{group}/{a}` | {fmt(ma)} | `{b}` | {fmt(mb)} | {ratio(ma, mb):.2f}{unit} | {target} |")
        elif ma:
            print(f"| `{group}/{a}` | {fmt(ma)} | | | | |")
