#!/usr/bin/python3
"""ctest leak.offline_*: replays labelled sets through leak_replay, scores each (with the
Prometheus-style baselines beside), and fails unless every set meets score.FLOORS[FLOORS]
(generated: sets gen.py wrote at test time; dev: the shared dev set). Exit 77 (skip), with the
reason printed, when a set is absent: the dev set lives outside the repository.

usage: offline.py LEAK_REPLAY WORK_DIR FLOORS DATASET.jsonl.gz [DATASET.jsonl.gz ...]
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import score  # noqa: E402


def replay(binary, dataset, out):
    with open(out, "w") as f:
        subprocess.run([binary, dataset], stdout=f, check=True)
    alerts = {}
    for r in score.load_workers(out):
        alerts[r["worker"]] = r["alerts"]
    return alerts


def report(dataset, binary, work, floors):
    """Scores one set and prints it; returns 0 when its floors are met, else 1."""
    name = os.path.basename(dataset).split(".")[0]
    workers = score.load_workers(dataset)
    res = score.score(workers, replay(binary, dataset, os.path.join(work, name + ".replay.jsonl")))
    print("== %s (%d workers)" % (dataset, len(workers)))
    print(score.fmt("sluice", res))
    for w in workers:
        o = res["outcome"][w["worker"]]
        if o != "quiet" and not o.startswith("caught"):
            print("   %-24s %s" % (w["worker"], o))
    base = score.baseline_scores(workers)
    for kind, r in base.items():
        print(score.fmt(kind, r))
    return score.floors_verdict(floors, res, base)


def main():
    if len(sys.argv) < 5 or sys.argv[3] not in score.FLOORS:
        print(__doc__)
        return 2
    binary, work, floors, sets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    missing = [d for d in sets if not os.path.exists(d)]
    if missing:
        hint = score.SHARED_HINT if floors == "dev" else "run its leak.generate_* test first"
        print("SKIP: %s not found; %s" % (", ".join(missing), hint))
        return 77
    return max(report(d, binary, work, floors) for d in sets)


if __name__ == "__main__":
    sys.exit(main())
