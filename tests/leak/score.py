#!/usr/bin/python3
"""Scores leak alerts against labeled worker series (rules of shared/leak-dev/README.md).

score(workers, alerts) is source-agnostic: `alerts` maps worker id -> list of alert start
times (Unix s); the C replay (leak_replay) and a future HTTP replay both feed it. The
Prometheus-style baselines are computed here on the same series.

usage: score.py DATASET.jsonl[.gz] --replay REPLAY_OUT.jsonl [--floors [dev|generated]] [--baselines]
       [--per-worker]
"""
import argparse
import gzip
import json
import statistics
import sys


def load_workers(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def samples_of(w):
    return [(s[0], s[1]) for inc in w["incarnations"] for s in inc["samples"]]


def score(workers, alerts):
    """workers: labeled dicts; alerts: {worker_id: [alert_ts, ...]} (any order, may be absent).
    Returns a dict with precision, recall, f1, median_delay_min, false_alerts_per_worker_day."""
    tp = fp = fn = 0
    delays, false_alerts, days = [], 0, 0.0
    outcome = {}
    for w in workers:
        sf = w["scored_from"]
        end = w["incarnations"][-1]["samples"][-1][0]
        days += max(0.0, end - sf) / 86400.0
        ts = sorted(t for t in alerts.get(w["worker"], []) if t is not None and t >= sf)
        first = ts[0] if ts else None
        if w["leak"]:
            t0 = w["t0"]
            false_alerts += sum(1 for t in ts if t < t0)
            if first is None:
                fn += 1
                outcome[w["worker"]] = "missed"
            elif first >= t0:
                tp += 1
                delays.append((first - t0) / 60.0)
                outcome[w["worker"]] = "caught +%.0f min" % ((first - t0) / 60.0)
            else:
                fp += 1
                fn += 1  # the leak itself is not caught by a false alarm
                outcome[w["worker"]] = "EARLY (false alarm)"
        else:
            false_alerts += len(ts)
            if first is not None:
                fp += 1
                outcome[w["worker"]] = "FALSE ALARM"
            else:
                outcome[w["worker"]] = "quiet"
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "workers": len(workers),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "median_delay_min": statistics.median(delays) if delays else None,
        "false_alerts_per_worker_day": false_alerts / days if days else 0.0,
        "outcome": outcome,
    }


def prometheus_alerts(w, kind, rng=3600.0, step=60.0):
    """Alert start times of one rule on the worker's slot series (all lives in one series, as
    a metric labelled by worker id is), evaluated every `step` s like a Prometheus rule group.
    Both functions use Prometheus' least-squares fit over the samples in (t - 1h, t].
    kind 'predict_linear': predict_linear(rss[1h], 4*3600) > limit, for: 15m.
    kind 'deriv': deriv(rss[1h]) > 0.02 * avg_over_time(rss[1h]) / 3600, for: 30m."""
    pts = samples_of(w)
    if not pts:
        return []
    limit, ref = w["limit"], pts[0][0]
    hold = 900.0 if kind == "predict_linear" else 1800.0
    out, lo, hi, since, firing = [], 0, 0, None, False
    n = sx = sy = sxx = sxy = 0.0  # running sums over the window, x = t - ref
    t = pts[0][0]
    while t <= pts[-1][0]:
        while hi < len(pts) and pts[hi][0] <= t:
            x, v = pts[hi][0] - ref, pts[hi][1]
            n, sx, sy, sxx, sxy = n + 1, sx + x, sy + v, sxx + x * x, sxy + x * v
            hi += 1
        while lo < hi and pts[lo][0] <= t - rng:
            x, v = pts[lo][0] - ref, pts[lo][1]
            n, sx, sy, sxx, sxy = n - 1, sx - x, sy - v, sxx - x * x, sxy - x * v
            lo += 1
        cond = False
        den = n * sxx - sx * sx if n >= 2 else 0.0
        if den > 1e-6 * max(1.0, n * sxx):
            slope = (n * sxy - sx * sy) / den  # bytes per second
            if kind == "predict_linear":
                icept = (sy - slope * sx) / n  # value at x = 0
                cond = icept + slope * (t - ref + 4 * 3600) > limit
            else:
                cond = slope > 0.02 * (sy / n) / 3600.0
        if cond:
            since = t if since is None else since
            if not firing and t - since >= hold:
                firing = True
                out.append(t)
        else:
            since, firing = None, False
        t += step
    return out


# Floors the ctest benchmarks assert. "dev": the shared labelled set (judged elsewhere).
# "generated": gen.py's default kinds, seeds 1 and 2 (not the seeds METHOD.md reports), 80
# workers each; measured on seeds 1, 2, 3, 7, 11, 23: P 0.78-0.97, R 0.96-1.00, F1 0.87-0.98,
# median delay 129-164 min, 0.009-0.072 false alerts per worker-day, F1 0.41-0.63 above the
# better of the predict_linear/deriv baselines (whose F1 is 0.26-0.46). The floors leave room
# for a detector change that moves a few workers, not for one that stops being better than
# the baselines.
FLOORS = {
    "dev": {"precision": 0.95, "recall": 0.90, "max_delay_min": 90},
    "generated": {"precision": 0.70, "recall": 0.90, "f1": 0.80, "max_delay_min": 240,
                  "max_false_per_worker_day": 0.10, "baseline_f1_margin": 0.30},
}


# Why a dev-set test skips, printed before its exit 77: SLUICE_SHARED_DIR is a CMake cache
# variable, not an environment variable.
SHARED_HINT = ("the shared dev set is scored only when present: configure with "
               "cmake -DSLUICE_SHARED_DIR=DIR (the folder holding leak-dev/), or "
               "make test CMAKE_FLAGS=-DSLUICE_SHARED_DIR=DIR")


def check_floors(name, res, baselines=None):
    """Checks res (a score() result) against FLOORS[name]; baselines: {kind: score() result},
    needed when the floors have a baseline margin. Returns the list of failures ([] = met)."""
    f, fails = FLOORS[name], []
    if res["precision"] < f["precision"]:
        fails.append("precision %.3f < %.2f" % (res["precision"], f["precision"]))
    if res["recall"] < f["recall"]:
        fails.append("recall %.3f < %.2f" % (res["recall"], f["recall"]))
    if res["f1"] < f.get("f1", 0.0):
        fails.append("F1 %.3f < %.2f" % (res["f1"], f["f1"]))
    d = res["median_delay_min"]
    if d is None or d > f["max_delay_min"]:
        fails.append("median delay %s min > %d" % (d, f["max_delay_min"]))
    if res["false_alerts_per_worker_day"] > f.get("max_false_per_worker_day", float("inf")):
        fails.append("false alerts per worker-day %.3f > %.2f" % (
            res["false_alerts_per_worker_day"], f["max_false_per_worker_day"]))
    if "baseline_f1_margin" in f:
        best = max((b["f1"] for b in (baselines or {}).values()), default=None)
        if best is None:
            fails.append("no baseline scores to compare with")
        elif res["f1"] < best + f["baseline_f1_margin"]:
            fails.append("F1 %.3f < best baseline F1 %.3f + %.2f" % (
                res["f1"], best, f["baseline_f1_margin"]))
    return fails


def baseline_scores(workers):
    """{kind: score()} of the predict_linear and deriv baselines on the same series."""
    out = {}
    for kind in ("predict_linear", "deriv"):
        out[kind] = score(workers, {w["worker"]: prometheus_alerts(w, kind) for w in workers})
    return out


def floors_verdict(name, res, baselines=None):
    """Prints the verdict of check_floors; returns 0 when the floors are met, else 1."""
    fails = check_floors(name, res, baselines)
    if fails:
        print("FAIL: %s floors not met: %s" % (name, "; ".join(fails)))
        return 1
    print("%s floors met" % name)
    return 0


def fmt(name, r):
    md = "-" if r["median_delay_min"] is None else "%.0f" % r["median_delay_min"]
    return "%-16s P=%.3f R=%.3f F1=%.3f median_delay=%s min false/worker-day=%.3f (tp=%d fp=%d fn=%d)" % (
        name, r["precision"], r["recall"], r["f1"], md, r["false_alerts_per_worker_day"],
        r["tp"], r["fp"], r["fn"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--replay", required=True, help="leak_replay output (jsonl)")
    ap.add_argument("--floors", nargs="?", const="dev", choices=sorted(FLOORS),
                    help="exit 1 unless the floors (dev: P>=.95 R>=.90 delay<=90) are met")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--per-worker", action="store_true")
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    workers = load_workers(a.dataset)
    alerts = {}
    with open(a.replay) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                alerts[r["worker"]] = r.get("alerts") or ([r["first_alert"]] if r["first_alert"] else [])
    res = score(workers, alerts)
    print("== %s (%d workers)" % (a.name or a.dataset, len(workers)))
    print(fmt("sluice", res))
    if a.per_worker:
        for w in workers:
            o = res["outcome"][w["worker"]]
            if o not in ("quiet",) and not o.startswith("caught"):
                print("   %-14s %-16s %s" % (w["worker"], w.get("class", ""), o))
    base = baseline_scores(workers) if a.baselines or a.floors == "generated" else {}
    for kind, r in base.items():
        print(fmt(kind, r))
    return floors_verdict(a.floors, res, base) if a.floors else 0


if __name__ == "__main__":
    sys.exit(main())
