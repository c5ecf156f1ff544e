#!/usr/bin/python3
"""The detector's worst case for throughput, in the format of shared/leak-dev/workers.jsonl:
workers that leak for days, so every window of every evaluation passes the cheap tests and
the detector computes all of its statistics. Deterministic.

  bench   as tests/bench/memory.lua: +4096 B every 10 s from 100 MB, no noise, one life
  noisy   the same growth with 1 % noise and 10-30 s sampling
  slow    a long-lived worker growing 0.6 %/h with 2 % noise, 30 s sampling

Time runs to 1700000000 as in the dev set. Feed it to `leak_replay FILE -b` for samples/s.

usage: bench_series.py [--days N] OUT.jsonl[.gz]
"""
import argparse
import gzip
import json
import random

END = 1700000000.0


def worker(wid, kind, days, rng):
    start = END - days * 86400
    base, t, out = 100e6, start, []
    while t <= END:
        if kind == "bench":
            out.append([t, int(base + 4096 * len(out))])
            t += 10
        elif kind == "noisy":
            v = base + 4096 / 10 * (t - start)
            out.append([round(t, 3), int(v * (1 + 0.01 * rng.gauss(0, 1)))])
            t += rng.uniform(10, 30)
        else:
            v = base * (1 + 0.006 * (t - start) / 3600)
            out.append([round(t, 3), int(v * (1 + 0.02 * rng.gauss(0, 1)))])
            t += 30
    return {"worker": wid, "class": "leak_linear", "leak": True, "t0": start, "base": int(base),
            "limit": 0, "scored_from": start,
            "incarnations": [{"pid": 1001, "started_at": start - 3600, "samples": out}]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--days", type=float, default=4)
    a = ap.parse_args()
    rng = random.Random(1)
    opener = gzip.open if a.out.endswith(".gz") else open
    with opener(a.out, "wt") as f:
        for kind in ("bench", "noisy", "slow"):
            w = worker("b-" + kind, kind, a.days, rng)
            f.write(json.dumps(w, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
