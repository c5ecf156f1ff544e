#!/usr/bin/python3
"""ctest leak.offline_dev: replays the shared dev set and a generated set through leak_replay,
scores both (with the Prometheus-style baselines beside), and fails unless the dev set meets the
floors (precision >= 0.95, recall >= 0.90, median delay <= 90 min). Exit 77 (skip) when the dev
set is absent.

usage: offline.py LEAK_REPLAY SHARED_DIR WORK_DIR
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


def report(name, dataset, binary, work):
    workers = score.load_workers(dataset)
    res = score.score(workers, replay(binary, dataset, os.path.join(work, name + ".replay.jsonl")))
    print("== %s (%d workers)" % (name, len(workers)))
    print(score.fmt("sluice", res))
    for w in workers:
        o = res["outcome"][w["worker"]]
        if o != "quiet" and not o.startswith("caught"):
            print("   %-24s %s" % (w["worker"], o))
    for kind in ("predict_linear", "deriv"):
        b = {w["worker"]: score.prometheus_alerts(w, kind) for w in workers}
        print(score.fmt(kind, score.score(workers, b)))
    return res


def main():
    binary, shared, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    gen_path = os.path.join(work, "generated.jsonl.gz")
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "--seed", "7", "--count", "2",
                    gen_path], check=True)
    report("generated(seed 7)", gen_path, binary, work)
    dev = os.path.join(shared, "leak-dev", "workers.jsonl.gz")
    if not os.path.exists(dev):
        print("SKIP: dev set %s not found (set SLUICE_SHARED_DIR)" % dev)
        return 77
    res = report("dev", dev, binary, work)
    d = res["median_delay_min"]
    if res["precision"] >= 0.95 and res["recall"] >= 0.90 and d is not None and d <= 90:
        print("dev floors met")
        return 0
    print("FAIL: dev floors are precision >= 0.95, recall >= 0.90, median delay <= 90 min")
    return 1


if __name__ == "__main__":
    sys.exit(main())
