#!/usr/bin/python3
"""HTTP replay benchmark: the leak detector as it runs in production, through the real endpoint.

Starts the `sluice` binary (SLUICE_BIN or --bin) on a free loopback port with a temp database,
creates a project, and replays every worker of a labeled set (jsonl[.gz], format of
shared/leak-dev/README.md) through POST /api/{id}/memory/, one batch (<= 1000 samples) per life
chunk, in event-time order, with every time shifted by `now - end_of_series` so the server
accepts it. It then reads the memory_leak alerts back, un-shifts `fired_at`, and scores them with
score.py beside the predict_linear/deriv baselines on the same series.

With --replay-bin LEAK_REPLAY it also runs the offline replay on the same file and checks that
both give the same alerts (event-time determinism: replay = live). With --floors [dev|generated]
it fails unless the set meets score.FLOORS (dev: precision >= 0.95, recall >= 0.90, median
delay <= 90 min). Exit 77, with the reason printed, when the set is absent.

usage: replay_http.py DATASET.jsonl[.gz] [--bin SLUICE] [--replay-bin LEAK_REPLAY]
                      [--floors [dev|generated]]
"""
import argparse
import datetime
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import score  # noqa: E402

TOKEN = "leak-replay-admin-token-0123456789"
BATCH = 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, headers=None):
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        for attempt in range(50):
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                time.sleep(0.05)
                continue
            if r.status in (429, 503):  # writer queue full: back off and retry the same batch
                time.sleep(0.05 * (attempt + 1))
                continue
            if r.status >= 300:
                raise RuntimeError("%s %s -> %d %s" % (method, path, r.status, raw[:300]))
            return json.loads(raw) if raw else None
        raise RuntimeError("%s %s: gave up after retries" % (method, path))


def start_server(binary, tmp, max_age_days):
    port = free_port()
    log = open(os.path.join(tmp, "server.log"), "wb")
    args = [binary, "--listen", "127.0.0.1:%d" % port, "--db", os.path.join(tmp, "sluice.db"),
            "--admin-token", TOKEN, "--max-sample-age-days", str(max_age_days)]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("sluice exited with %d; log in %s" % (proc.returncode, tmp))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("sluice did not start listening")


def parse_rfc3339(s):
    d = datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return d.timestamp()


def replay_http(binary, workers):
    """Replays the workers through a fresh server; returns {worker: [alert fired_at, ...]} in
    the series' own time, and the number of samples sent."""
    end = max(inc["samples"][-1][0] for w in workers for inc in w["incarnations"] if inc["samples"])
    start = min(inc["samples"][0][0] for w in workers for inc in w["incarnations"] if inc["samples"])
    shift = float(int(time.time() - end) - 60)  # an integer shift keeps every timestamp exact
    age_days = max(7, int((end - start) / 86400) + 2)
    tmp = tempfile.mkdtemp(prefix="sluice-leak-http-")
    proc, port = start_server(binary, tmp, age_days)
    sent = 0
    try:
        c = Client(port)
        auth = {"Authorization": "Bearer " + TOKEN}
        p = c.call("POST", "/api/v1/projects", {"name": "leak-replay"}, auth)
        pid, key = p["id"], p["public_key"]
        sauth = {"X-Sentry-Auth": "Sentry sentry_key=%s, sentry_version=7" % key}
        for w in workers:
            for inc in w["incarnations"]:
                smp = inc["samples"]
                for i in range(0, len(smp), BATCH):
                    body = {
                        "worker": {"id": w["worker"], "pid": inc["pid"],
                                   "started_at": inc["started_at"] + shift,
                                   "memory_limit_bytes": int(w["limit"])},
                        "samples": [{"timestamp": s[0] + shift, "rss_bytes": int(s[1])}
                                    for s in smp[i:i + BATCH]],
                    }
                    c.call("POST", "/api/%s/memory/" % pid, body, sauth)
                    sent += len(body["samples"])
        alerts, cursor = {}, None
        while True:
            q = "/api/v1/projects/%s/alerts?kind=memory_leak&status=all&limit=500" % pid
            if cursor:
                q += "&cursor=" + str(cursor)
            r = c.call("GET", q, None, auth)
            for a in r["alerts"]:
                alerts.setdefault(a["worker_id"], []).append(parse_rfc3339(a["fired_at"]) - shift)
            cursor = r.get("next_cursor")
            if not cursor or not r["alerts"]:
                break
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)
    return alerts, sent


def replay_offline(binary, dataset):
    out = subprocess.run([binary, dataset], stdout=subprocess.PIPE, check=True, text=True).stdout
    alerts = {}
    for line in out.splitlines():
        if line.strip():
            r = json.loads(line)
            alerts[r["worker"]] = r["alerts"]
    return alerts


def same_alerts(workers, a, b):
    """Compares first alerts at or after scored_from (what score() judges), to the ms."""
    diffs = []
    for w in workers:
        sf = w["scored_from"]
        fa = sorted(t for t in a.get(w["worker"], []) if t >= sf)
        fb = sorted(t for t in b.get(w["worker"], []) if t >= sf)
        if len(fa) != len(fb) or any(abs(x - y) > 0.002 for x, y in zip(fa, fb)):
            diffs.append((w["worker"], fa[:3], fb[:3]))
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--bin", default=os.environ.get("SLUICE_BIN", ""))
    ap.add_argument("--replay-bin", default="", help="leak_replay, to check HTTP == offline")
    ap.add_argument("--floors", nargs="?", const="dev", choices=sorted(score.FLOORS))
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    if not os.path.exists(a.dataset):
        print("SKIP: %s not found; %s" % (a.dataset, score.SHARED_HINT))
        return 77
    if not a.bin:
        print("set SLUICE_BIN or --bin")
        return 2
    workers = score.load_workers(a.dataset)
    t = time.time()
    http_alerts, sent = replay_http(a.bin, workers)
    el = time.time() - t
    res = score.score(workers, http_alerts)
    print("== %s (%d workers, %d samples over HTTP in %.1f s, %.0f samples/s)" % (
        a.name or a.dataset, len(workers), sent, el, sent / el))
    print(score.fmt("sluice (HTTP)", res))
    for w in workers:
        o = res["outcome"][w["worker"]]
        if o != "quiet" and not o.startswith("caught"):
            print("   %-24s %-18s %s" % (w["worker"], w.get("class", ""), o))
    rc = 0
    if a.replay_bin:
        off = replay_offline(a.replay_bin, a.dataset)
        print(score.fmt("sluice (offline)", score.score(workers, off)))
        diffs = same_alerts(workers, http_alerts, off)
        if diffs:
            print("FAIL: HTTP and offline replays differ on %d workers:" % len(diffs))
            for d in diffs[:10]:
                print("   %s http=%s offline=%s" % d)
            rc = 1
        else:
            print("HTTP alerts == offline alerts on all %d workers" % len(workers))
    base = score.baseline_scores(workers)
    for kind, r in base.items():
        print(score.fmt(kind, r))
    if a.floors and score.floors_verdict(a.floors, res, base):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
