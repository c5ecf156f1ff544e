#!/usr/bin/python3
"""Scores leak alerts against labeled worker series (rules of shared/leak-dev/README.md).

score(workers, alerts) is source-agnostic: `alerts` maps worker id -> list of alert start
times (Unix s); the C replay (leak_replay) and a future HTTP replay both feed it. The
Prometheus-style baselines are computed here on the same series.

usage: score.py DATASET.jsonl[.gz] --replay REPLAY_OUT.jsonl [--floors] [--baselines] [--per-worker]
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


def fmt(name, r):
    md = "-" if r["median_delay_min"] is None else "%.0f" % r["median_delay_min"]
    return "%-16s P=%.3f R=%.3f F1=%.3f median_delay=%s min false/worker-day=%.3f (tp=%d fp=%d fn=%d)" % (
        name, r["precision"], r["recall"], r["f1"], md, r["false_alerts_per_worker_day"],
        r["tp"], r["fp"], r["fn"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--replay", required=True, help="leak_replay output (jsonl)")
    ap.add_argument("--floors", action="store_true", help="exit 1 unless P>=.95 R>=.90 delay<=90")
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
    if a.baselines:
        for kind in ("predict_linear", "deriv"):
            b = {w["worker"]: prometheus_alerts(w, kind) for w in workers}
            print(fmt(kind, score(workers, b)))
    if a.floors:
        d = res["median_delay_min"]
        ok = res["precision"] >= 0.95 and res["recall"] >= 0.90 and d is not None and d <= 90
        if not ok:
            print("FAIL: floors are precision >= 0.95, recall >= 0.90, median delay <= 90 min")
            return 1
        print("floors met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
