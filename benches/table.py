#!/usr/bin/env python3
"""Prints the README's benchmark tables from criterion's last run.

Usage: cargo bench -p twostep-benches --all-features && python3 benches/table.py
Reads target/criterion/<group>/<function>/new/estimates.json (medians), or
$CARGO_TARGET_DIR/criterion when that is set. Each row shows its ratio and
the limit it is held to (the issues' targets; "–" where none is set).
"""
import json
import os
import pathlib

TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path(__file__).resolve().parent.parent / "target"))
ROOT = TARGET / "criterion"


def median_ns(group, function):
    path = ROOT / group / function / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] if path.exists() else None


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def verdict(ratio, limit):
    """'≤ 0.90× (met)' for a (kind, bound) limit, '–' without one."""
    if limit is None:
        return "–"
    kind, bound = limit
    met = ratio <= bound if kind == "≤" else ratio >= bound
    return f"{kind} {bound:.2f}× ({'met' if met else 'NOT met'})"


def table(header, rows):
    print()
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


# The hot path and code generation: twostep against the plain RustCrypto
# loop and the peer crates, per group.
LIMITS = {
    ("verify_w1_nomatch_sha1", "hmac_prepared"): ("≤", 0.9),
    ("verify_w1_nomatch_sha1", "totp_rs"): ("≤", 0.55),
    # Ours: generating must not cost more than the plain loop's one step.
    ("generate_sha1", "hmac_prepared"): ("≤", 1.0),
    ("generate_sha256", "hmac_prepared"): ("≤", 1.0),
    ("generate_sha512", "hmac_prepared"): ("≤", 1.0),
}
PEERS = ["hmac_prepared", "totp_rs", "libreauth", "totp_lite"]
groups = sorted(p.name for p in ROOT.iterdir() if p.name.startswith(("verify_w1", "generate_")) and median_ns(p.name, "twostep"))
rows = []
for g in groups:
    ours = median_ns(g, "twostep")
    for peer in PEERS:
        theirs = median_ns(g, peer)
        if theirs:
            ratio = ours / theirs
            rows.append([f"`{g}`", fmt(ours), f"`{peer}`", fmt(theirs), f"{ratio:.2f}×", verdict(ratio, LIMITS.get((g, peer)))])
table(["group", "twostep", "against", "median", "twostep / it", "limit"], rows)

# Cost against window size: each row against the straight line fitted
# through all six (least squares on the number of steps computed).
window = [(k, 2 * k + 1, median_ns("verify_window_sha1", f"pm{k}")) for k in range(6)]
if all(v for *_, v in window):
    n = len(window)
    mx = sum(s for _, s, _ in window) / n
    my = sum(v for *_, v in window) / n
    slope = sum((s - mx) * (v - my) for _, s, v in window) / sum((s - mx) ** 2 for _, s, _ in window)
    base = my - slope * mx
    rows = []
    for k, steps, v in window:
        fit = base + slope * steps
        rows.append([f"±{k}", str(steps), fmt(v), fmt(fit), f"{v / fit:.2f}×"])
    print(f"\nLine: {fmt(base)} + {fmt(slope)} per step")
    table(["window (steps each way)", "steps computed", "median", "straight line", "median / line"], rows)

# The service path.
SERVICE = [
    # No limit: the process no longer remembers records (less code on the
    # sign-in path over this micro-benchmark); what counts is each store
    # against its floor, below.
    ("service_verify", "memory_store", "twostep", lambda a, b: a / b, "×", None),
    # Behind a load balancer: every record loaded was written by the other
    # server.
    ("service_verify", "two_servers", "memory_store", lambda a, b: a / b, "×", None),
    # The record authentication of a verify.
    ("service_verify", "record_tags", "memory_store", lambda a, b: a / b, "× (share)", None),
    ("service_verify_threads", "two_threads", "one_thread", lambda a, b: b / a, "× throughput", ("≥", 1.8)),
    # The machine's ceiling for the row above: bare verify, same harness.
    ("verify_threads", "two_threads", "one_thread", lambda a, b: b / a, "× throughput", None),
    # Each store against its database's floor: the same SELECT and
    # conditional UPDATE issued directly (benches/with_databases.rs).
    ("service_verify", "sqlite", "sqlite_raw", lambda a, b: a / b, "×", ("≤", 1.15)),
    ("service_verify", "postgres", "postgres_raw", lambda a, b: a / b, "×", ("≤", 1.15)),
    ("service_verify", "sqlx_sqlite", "sqlx_sqlite_raw", lambda a, b: a / b, "×", ("≤", 1.15)),
    ("service_verify", "sqlx_postgres", "sqlx_postgres_raw", lambda a, b: a / b, "×", ("≤", 1.15)),
    ("service_verify_64_tasks", "sqlx_postgres", "sqlx_postgres_raw", lambda a, b: b / a, "× throughput", ("≥", 1 / 1.15)),
    ("recovery_verify", "single", "memory_store", lambda a, b: a / b, "×", None),
    ("recovery_verify", "set16", "memory_store", lambda a, b: a / b, "×", None),
]
rows = []
for group, a, b, ratio, unit, limit in SERVICE:
    ma = median_ns(group, a)
    mb = median_ns(group, b) or median_ns("service_verify", b)
    if ma and mb:
        r = ratio(ma, mb)
        rows.append([f"`{group}/{a}`", fmt(ma), f"`{b}`", fmt(mb), f"{r:.2f}{unit}", verdict(r, limit)])
if rows:
    table(["measure", "median", "against", "median", "ratio", "limit"], rows)
