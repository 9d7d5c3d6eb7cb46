#!/usr/bin/env python3
"""Prints the README's benchmark table from criterion's last run.

Usage: cargo bench --bench verify && python3 benches/table.py
Reads target/criterion/<group>/<function>/new/estimates.json (median, ns)
and gives each row's ratio to the limit (`hmac_prepared`) and the peers.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
OURS, LIMIT = "twostep", "hmac_prepared"


def median_ns(group, function):
    path = ROOT / group / function / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] if path.exists() else None


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


groups = sorted(p.name for p in ROOT.iterdir() if median_ns(p.name, OURS))
peers = sorted({f.name for g in groups for f in (ROOT / g).iterdir() if median_ns(g, f.name)} - {OURS, LIMIT})
print(f"| group | {OURS} | {LIMIT} | " + " | ".join(peers) + f" | {OURS} / {LIMIT} | "
      + " | ".join(f"{OURS} / {p}" for p in peers) + " |")
print("|---" * (3 + 2 * len(peers) + 1) + "|")
for g in groups:
    ours, limit = median_ns(g, OURS), median_ns(g, LIMIT)
    others = [median_ns(g, p) for p in peers]
    cells = [fmt(v) if v else "–" for v in [ours, limit, *others]]
    ratios = [f"{ours / v:.2f}×" if ours and v else "–" for v in [limit, *others]]
    print(f"| `{g}` | " + " | ".join(cells + ratios) + " |")
