"""Memory-sample protocol and the Python sampler, black-box against a running sluice:
every sdk-protocol/valid example is accepted and every invalid one refused naming its field
(with nothing stored), auth and Content-Encoding behave like the Sentry endpoints, body limits
give 413, and a real leaking Python process using sdk-protocol/python/sluice_memory.py shows up
in the workers API with a growing series. Example timestamps are relative to 1700000000 and
are shifted to now before sending (sdk-protocol/README.md)."""
import gzip
import http.client
import json
import math
import os
import select
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
import zlib

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("SLUICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))
PROTO = os.path.join(SOURCE, "sdk-protocol")
SDK_PY = os.path.join(PROTO, "python")
REFERENCE_NOW = 1700000000
MIB = 1 << 20

sys.path.insert(0, SDK_PY)
import sluice_memory  # noqa: E402


# --- helpers ---------------------------------------------------------------------------------

def example_files(kind):
    d = os.path.join(PROTO, kind)
    names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
    assert names, "no examples in " + d
    return [(n, os.path.join(d, n)) for n in names]


def expected_fields():
    out = {}
    with open(os.path.join(PROTO, "invalid", "EXPECTED.tsv"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                name, path = line.split("\t")
                out[name] = path
    return out


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def shifted(raw, now=None):
    """The example with worker.started_at and samples[].timestamp moved from the reference
    time to now; bodies that are not JSON objects are returned unchanged."""
    delta = int(now or time.time()) - REFERENCE_NOW
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(doc, dict):
        return raw
    w = doc.get("worker")
    if isinstance(w, dict) and is_number(w.get("started_at")):
        w["started_at"] += delta
    samples = doc.get("samples")
    if isinstance(samples, list):
        for s in samples:
            if isinstance(s, dict) and is_number(s.get("timestamp")):
                s["timestamp"] += delta
    return json.dumps(doc).encode()


def post_memory(server, project, body, key=None, headers=None, query=""):
    """POSTs to the memory endpoint with the project's key in X-Sentry-Auth (unless key is
    False or headers carry their own). Returns (status, json or bytes, headers)."""
    h = {"Content-Type": "application/json"}
    if key is not False:
        h["X-Sentry-Auth"] = "Sentry sentry_key=%s, sentry_version=7" % (key or project["public_key"])
    h.update(headers or {})
    return server.request("POST", "/api/%s/memory/%s" % (project["id"], query), body=body,
                          headers=h, token=None)


def workers(server, project):
    return server.api("GET", "/api/v1/projects/%s/workers" % project["id"], expect=200)["workers"]


def find_worker(server, project, worker_id):
    for w in workers(server, project):
        if w.get("id") == worker_id:
            return w
    return None


def memory_points(server, project, worker_id):
    """(status, points) of GET .../workers/{id}/memory, the id percent-encoded."""
    path = "/api/v1/projects/%s/workers/%s/memory" % (project["id"],
                                                      urllib.parse.quote(worker_id, safe=""))
    status, doc, _ = server.request("GET", path)
    return status, (doc or {}).get("points", []) if isinstance(doc, dict) else []


# --- pure checks (no server) -----------------------------------------------------------------

def test_dsn_parsing_matches_sentry_sdk():
    from sentry_sdk.utils import Dsn
    for dsn in ["https://abc123@o1.ingest.example.com/42",
                "http://abc123:secret@127.0.0.1:9000/sub/path/7",
                "http://abc123@localhost:80/3",
                "https://abc123@sluice.example.com:8443/1"]:
        url, key, project = sluice_memory.parse_dsn(dsn)
        store = Dsn(dsn).to_auth().store_api_url
        assert url == store.replace("/store/", "/memory/"), (url, store)
        assert key == "abc123" and project == int(Dsn(dsn).project_id)
    for bad in ["ftp://k@h/1", "http://h/1", "http://k@h/notanumber", "http://k@h/"]:
        with pytest.raises(sluice_memory.BadDsn):
            sluice_memory.parse_dsn(bad)


def test_readers_and_ids():
    rss = sluice_memory.read_rss()
    assert rss is None or rss > 1 * MIB
    pss, uss = sluice_memory.read_smaps_rollup()
    if os.access("/proc/self/smaps_rollup", os.R_OK):
        assert pss > 0 and uss > 0
    assert sluice_memory.process_started_at() == sluice_memory.process_started_at()
    assert sluice_memory.process_started_at() <= time.time() + 1
    wid = sluice_memory.make_worker_id("s" * 500, 12, host="h" * 300)
    assert len(wid.encode()) <= 200 and wid.endswith("-12")
    assert sluice_memory._retry_after("5") == 5.0 and sluice_memory._retry_after("x") is None


def test_examples_match_schema():
    jsonschema = pytest.importorskip("jsonschema")
    with open(os.path.join(PROTO, "schema.json")) as f:
        validator = jsonschema.Draft202012Validator(json.load(f))
    for name, path in example_files("valid"):
        with open(path, "rb") as f:
            errors = list(validator.iter_errors(json.load(f)))
        assert not errors, (name, errors[0].message)


def test_every_invalid_example_is_listed():
    listed = expected_fields()
    files = {n for n, _ in example_files("invalid")}
    assert files == set(listed), files.symmetric_difference(listed)
    assert len(files) >= 12 and len(example_files("valid")) >= 6


# --- protocol against the server -------------------------------------------------------------

def test_valid_examples_are_accepted(server):
    project = server.create_project("memory-valid")
    for name, path in example_files("valid"):
        with open(path, "rb") as f:
            body = shifted(f.read())
        status, doc, _ = post_memory(server, project, body)
        assert status == 200, (name, status, doc)
        assert doc == {"accepted": len(json.loads(body)["samples"])}, (name, doc)
    # Unicode ids come back through a percent-encoded path.
    with open(os.path.join(PROTO, "valid", "unicode-ids.json"), encoding="utf-8") as f:
        wid = json.load(f)["worker"]["id"]
    assert server.wait_for(lambda: find_worker(server, project, wid))
    status, points = memory_points(server, project, wid)
    assert status == 200 and len(points) >= 1, (status, points)


def test_invalid_examples_are_refused_naming_the_field(server):
    project = server.create_project("memory-invalid")
    expected = expected_fields()
    for name, path in example_files("invalid"):
        with open(path, "rb") as f:
            body = shifted(f.read())
        status, doc, _ = post_memory(server, project, body)
        assert status == 400, (name, status, doc)
        assert isinstance(doc, dict) and isinstance(doc.get("detail"), str), (name, doc)
        assert expected[name] + ":" in doc["detail"], (name, expected[name], doc["detail"])
    # None of them left a trace.
    assert workers(server, project) == []


def test_refused_request_stores_nothing(server):
    project = server.create_project("memory-atomic")
    now = time.time()
    good = {"worker": {"id": "e2e/atomic-0", "pid": 10, "started_at": now - 100},
            "samples": [{"timestamp": now - 60 + i, "rss_bytes": 100 * MIB + i} for i in range(5)]}
    status, doc, _ = post_memory(server, project, good)
    assert (status, doc) == (200, {"accepted": 5})
    assert server.wait_for(lambda: find_worker(server, project, "e2e/atomic-0"))
    _, before = memory_points(server, project, "e2e/atomic-0")

    # Same worker, a new life, good samples first, then a bad one: all or nothing.
    bad = {"worker": {"id": "e2e/atomic-0", "pid": 11, "started_at": now - 5},
           "samples": [{"timestamp": now - 3, "rss_bytes": 999 * MIB},
                       {"timestamp": now - 2, "rss_bytes": 999 * MIB},
                       {"timestamp": now - 1, "rss_bytes": -1}]}
    status, doc, _ = post_memory(server, project, bad)
    assert status == 400 and "samples[2].rss_bytes:" in doc["detail"], (status, doc)
    # A worker only ever seen in a refused request does not exist.
    bad["worker"]["id"] = "e2e/never-0"
    assert post_memory(server, project, bad)[0] == 400

    time.sleep(0.5)
    _, after = memory_points(server, project, "e2e/atomic-0")
    assert after == before
    assert all(p[1] != 999 * MIB for p in after)
    w = find_worker(server, project, "e2e/atomic-0")
    assert w["pid"] == 10 and w["rss_bytes"] == 100 * MIB + 4, w
    assert find_worker(server, project, "e2e/never-0") is None
    status, _ = memory_points(server, project, "e2e/never-0")
    assert status in (200, 404)


def accepted_samples(server):
    """sluice_items_accepted_total{type="memory_sample"}: new samples stored so far."""
    _, text, _ = server.request("GET", "/metrics", raw=True)
    for line in text.decode().splitlines():
        if line.startswith('sluice_items_accepted_total{type="memory_sample"}'):
            return int(line.split()[-1])
    raise AssertionError("no memory_sample counter in /metrics")


def test_retried_and_overlapping_samples_are_stored_once(server):
    """A sampler that resends a batch (its answer was lost) or resends part of one gets a 200
    each time, but every (worker, timestamp) is stored and counted once; within one batch the
    first of two samples with the same timestamp wins."""
    project = server.create_project("memory-retry")
    t0 = int(time.time()) - 600
    worker = {"id": "e2e/retry-0", "pid": 20, "started_at": t0 - 100}

    def batch(offsets, rss=None):
        return {"worker": worker, "samples": [
            {"timestamp": t0 + o, "rss_bytes": rss or 100 * MIB + o * 4096} for o in offsets]}
    before = accepted_samples(server)
    a = batch(range(0, 200, 10))
    for _ in range(3):  # the batch, then two retries of it
        status, doc, _ = post_memory(server, project, a)
        assert (status, doc) == (200, {"accepted": 20})
    assert accepted_samples(server) - before == 20
    # Half of it again, half new, and 250 twice: the first one sent is kept.
    b = batch([250], rss=7 * MIB)
    b["samples"] += batch(range(100, 300, 10))["samples"]
    assert post_memory(server, project, b)[0] == 200
    assert accepted_samples(server) - before == 30

    status, points = memory_points(server, project, worker["id"])
    assert status == 200
    assert [p[0] - t0 for p in points] == list(range(0, 300, 10)), points
    assert [p[1] for p in points] == [7 * MIB if o == 250 else 100 * MIB + o * 4096
                                      for o in range(0, 300, 10)]


def test_late_and_unordered_samples_still_chart(server):
    """Batches may arrive late (a backfill after an outage) and samples in any order: all are
    stored and chart in time order; the worker's current RSS stays the newest sample's."""
    project = server.create_project("memory-late")
    t0 = int(time.time()) - 900
    worker = {"id": "e2e/late-0", "pid": 30, "started_at": t0 - 100}

    def batch(offsets):
        return {"worker": worker, "samples": [
            {"timestamp": t0 + o, "rss_bytes": 100 * MIB + o * 4096} for o in offsets]}
    for offsets in (range(300, 500, 10),             # the newest first
                    range(0, 200, 10),               # then a backfill of older ones
                    reversed(range(200, 300, 10))):  # and the gap, newest sample first
        status, doc, _ = post_memory(server, project, batch(list(offsets)))
        assert status == 200, doc
    status, points = memory_points(server, project, worker["id"])
    assert status == 200
    assert [p[0] - t0 for p in points] == list(range(0, 500, 10)), points
    assert [p[1] for p in points] == [100 * MIB + o * 4096 for o in range(0, 500, 10)]
    w = find_worker(server, project, worker["id"])
    assert w["rss_bytes"] == 100 * MIB + 490 * 4096, w


def test_auth_and_encodings(server):
    project = server.create_project("memory-auth")
    other = server.create_project("memory-other")

    def body(i):
        now = time.time()
        return json.dumps({"worker": {"id": "e2e/auth-%d" % i},
                           "samples": [{"timestamp": now, "rss_bytes": MIB}]}).encode()

    # Key in the query string, gzip and deflate bodies.
    st, doc, _ = post_memory(server, project, body(1), key=False,
                             query="?sentry_key=" + project["public_key"])
    assert (st, doc) == (200, {"accepted": 1})
    st, doc, _ = post_memory(server, project, gzip.compress(body(2)),
                             headers={"Content-Encoding": "gzip"})
    assert (st, doc) == (200, {"accepted": 1})
    st, doc, _ = post_memory(server, project, zlib.compress(body(3)),
                             headers={"Content-Encoding": "deflate"})
    assert (st, doc) == (200, {"accepted": 1})

    # No key, an unknown key, another project's key.
    assert post_memory(server, project, body(4), key=False)[0] == 401
    assert post_memory(server, project, body(5), key="0" * 32)[0] in (401, 403)
    assert post_memory(server, project, body(6), key=other["public_key"])[0] in (401, 403)
    # An encoding nobody supports.
    assert post_memory(server, project, body(7), headers={"Content-Encoding": "br"})[0] == 415
    ids = {w["id"] for w in workers(server, project)}
    assert {"e2e/auth-1", "e2e/auth-2", "e2e/auth-3"} <= ids
    assert not ids & {"e2e/auth-4", "e2e/auth-5", "e2e/auth-6", "e2e/auth-7"}


def _post_raw(server, project, body, headers):
    """Sends a large body with http.client, reading an early answer if the server gives one
    before the body is through. Returns the status."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/api/%s/memory/" % project["id"])
    h = {"Content-Type": "application/json", "Content-Length": str(len(body)),
         "X-Sentry-Auth": "Sentry sentry_key=%s, sentry_version=7" % project["public_key"]}
    h.update(headers)
    for k, v in h.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.sock.settimeout(5)  # a server that stops reading must not stall us for long
    try:
        for i in range(0, len(body), 64 * 1024):
            if select.select([conn.sock], [], [], 0)[0]:
                break  # the server answered early
            conn.sock.sendall(body[i:i + 64 * 1024])
    except OSError:  # reset, broken pipe, or a full window
        pass
    conn.sock.settimeout(30)
    try:
        resp = conn.getresponse()
        return resp.status
    finally:
        conn.close()


def test_body_limits(server):
    project = server.create_project("memory-limits")
    now = time.time()
    doc = {"worker": {"id": "e2e/big-0"}, "samples": [{"timestamp": now, "rss_bytes": MIB}],
           "padding": "x" * (9 * MIB)}
    assert _post_raw(server, project, json.dumps(doc).encode(), {}) == 413
    # A gzip bomb: small on the wire, 64 MiB of JSON once inflated.
    bomb = b'{"worker": {"id": "e2e/bomb-0"}, "padding": "' + b" " * (64 * MIB) + b'"}'
    assert _post_raw(server, project, gzip.compress(bomb, 9), {"Content-Encoding": "gzip"}) == 413
    ids = {w["id"] for w in workers(server, project)}
    assert not ids & {"e2e/big-0", "e2e/bomb-0"}


# --- a real leaking process ------------------------------------------------------------------

LEAKER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    import sluice_memory
    sluice_memory.start(sys.argv[2], worker_id=sys.argv[3], interval=0.2, batch_size=5,
                        service="e2e-leaker", release="1.0.0", memory_limit_bytes=1 << 30)
    leak = []
    for _ in range(15):
        leak.append(bytearray(os.urandom(64)) * (1 << 14))  # 1 MiB, every page written
        time.sleep(0.2)
    print("done", os.getpid(), flush=True)
""")


def test_leaking_python_process_is_reported(server, tmp_path):
    project = server.create_project("memory-python")
    worker_id = "e2e/python-leaker-0"
    script = tmp_path / "leaker.py"
    script.write_text(LEAKER)
    child = subprocess.run([sys.executable, str(script), SDK_PY, server.dsn(project), worker_id],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert "refused" not in child.stderr and "cannot reach" not in child.stderr, child.stderr
    pid = int(child.stdout.split()[1])

    w = server.wait_for(lambda: find_worker(server, project, worker_id))
    assert w["rss_bytes"] > 0, w
    assert w["pid"] == pid, w
    assert w["memory_limit_bytes"] == 1 << 30, w
    assert w["service"] == "e2e-leaker", w

    status, points = memory_points(server, project, worker_id)
    assert status == 200, (status, points)
    assert len(points) >= 8, points  # ~16 samples; a chart may thin them, not to nothing
    ts = [p[0] for p in points]
    assert ts == sorted(ts), ts
    assert all(isinstance(p[1], (int, float)) and math.isfinite(p[1]) and p[1] > 0
               for p in points), points
    assert abs(ts[-1] - time.time()) < 120, ts[-1]
    assert points[-1][1] - points[0][1] >= 8 * MIB, points  # leaked 15 MiB


def test_day_view_is_per_minute_means_of_the_raw_samples(server):
    """Views longer than 6 hours and up to 7 days average the raw samples per minute (there is
    no minute rollup table); views older than the raw samples fall back to hourly rollups."""
    project = server.create_project("memory-day")
    t0 = (int(time.time()) // 3600 - 12) * 3600  # 12 h ago, on the hour
    worker = {"id": "e2e/day-0", "pid": 40, "started_at": t0 - 100}
    offsets = list(range(0, 8 * 3600, 20))  # 8 hours, a sample every 20 s: 3 per minute
    for i in range(0, len(offsets), 500):
        status, doc, _ = post_memory(server, project, {"worker": worker, "samples": [
            {"timestamp": t0 + o, "rss_bytes": 100 * MIB + o * 1000} for o in offsets[i:i + 500]]})
        assert status == 200, doc
    path = "/api/v1/projects/%s/workers/%s/memory?from=%d&to=%d&max_points=10000" % (
        project["id"], urllib.parse.quote(worker["id"], safe=""), t0 - 3600, t0 + 12 * 3600)
    status, doc, _ = server.request("GET", path)
    assert status == 200, doc
    points = doc["points"]
    assert len(points) == 8 * 60, len(points)
    # minute m holds the samples at 60m, 60m+20, 60m+40: mean rss at offset 60m + 20
    assert [p[0] - t0 for p in points[:3]] == [30, 90, 150]
    assert [p[1] for p in points[:3]] == [100 * MIB + (60 * m + 20) * 1000 for m in range(3)]
    # the workers list's sparkline: 3-minute means of the last 3 hours (the first one partial)
    w = find_worker(server, project, worker["id"])
    assert len(w["sparkline"]) in (60, 61), w["sparkline"]
    assert w["sparkline"][-1] == 100 * MIB + (8 * 3600 - 100) * 1000


# --- a worker the detector has not judged yet ------------------------------------------------

def leak_samples(t0, start_s, end_s, base, per_hour, step=10):
    """Samples every `step` s between offsets start_s and end_s of a life beginning at t0,
    growing per_hour bytes per hour, with a GC-like sawtooth of +-3 MiB."""
    return [{"timestamp": t0 + o, "rss_bytes": int(base + per_hour * o / 3600 + (o % 60 - 30) * MIB / 10)}
            for o in range(start_s, end_s, step)]


def worker_memory(server, project, worker_id):
    path = "/api/v1/projects/%s/workers/%s/memory" % (project["id"],
                                                      urllib.parse.quote(worker_id, safe=""))
    status, doc, _ = server.request("GET", path)
    assert status == 200, doc
    return doc


def test_learning_worker_shows_time_left_and_observed_rate_and_no_trend(server):
    """The report: 27 -> 430 MiB in 16 minutes read as "learning, 0.00 MB/h, 0 %" with a flat
    trend line at 26 MiB. While insufficient_data the API gives no slope, confidence or trend,
    and says how much event time the detector still needs and what the raw samples show."""
    project = server.create_project("memory-learning")
    per_hour = (430 - 27) * MIB * 60 // 16
    t0 = int(time.time()) - 90 * 60  # event time runs ahead of the wall clock below
    worker = {"id": "web-1/gunicorn-0", "pid": 77, "started_at": t0 - 5}
    status, doc, _ = post_memory(server, project, {"worker": worker, "samples": leak_samples(
        t0, 0, 16 * 60 + 1, 27 * MIB, per_hour)})
    assert status == 200, doc

    w = server.wait_for(lambda: find_worker(server, project, worker["id"]))
    assert w["state"] == "insufficient_data", w
    assert w["slope_bytes_per_hour"] is None and w["confidence"] is None, w
    learning = w["learning"]
    assert abs(learning["seconds_left"] - (3600 - 16 * 60)) <= 5, learning
    assert 0.9 * per_hour < learning["observed_bytes_per_hour"] < 1.1 * per_hour, learning
    assert abs(learning["observed_over_seconds"] - 16 * 60) <= 10, learning

    doc = worker_memory(server, project, worker["id"])
    assert doc["trend"] is None, doc["trend"]
    assert doc["worker"]["learning"] == learning, doc["worker"]

    # 75 more minutes of the same life: judged, so no learning, and a trend that lies on the
    # data it was fitted to (it was drawn 6 h back, an hour's growth below the data, before)
    status, doc, _ = post_memory(server, project, {"worker": worker, "samples": leak_samples(
        t0, 16 * 60 + 10, 91 * 60, 27 * MIB, per_hour)})
    assert status == 200, doc
    w = server.wait_for(lambda: (lambda w: w if w and w["state"] != "insufficient_data" else None)(
        find_worker(server, project, worker["id"])))
    assert w["learning"] is None and w["slope_bytes_per_hour"] is not None, w
    doc = worker_memory(server, project, worker["id"])
    tr = doc["trend"]
    assert tr is not None and tr["state"] == w["state"], tr
    pts = doc["points"]
    at = lambda t: tr["intercept_at"] + tr["slope_bytes_per_hour"] * (t - tr["from"]) / 3600
    first_in = [p for p in pts if p[0] >= tr["from"]][:6]
    last = pts[-6:]
    mean = lambda ps: sum(p[1] for p in ps) / len(ps)
    assert t0 <= tr["from"] <= t0 + 120, (tr, t0)
    assert abs(at(sum(p[0] for p in last) / 6) - mean(last)) < 0.05 * mean(last), (tr, last)
    assert abs(at(sum(p[0] for p in first_in) / 6) - mean(first_in)) < 0.05 * mean(last), (
        tr, first_in)


# --- settings: the same everywhere, and gunicorn + Django for real ---------------------------

def test_settings_come_from_env_then_configure_then_arguments(monkeypatch):
    monkeypatch.setenv("SLUICE_MEMORY_LIMIT", "512M")
    monkeypatch.setenv("SLUICE_INTERVAL", "2.5")
    monkeypatch.setenv("SLUICE_RELEASE", "env@1")
    monkeypatch.setenv("SLUICE_TRACEMALLOC_TOP", "bad")
    monkeypatch.setattr(sluice_memory, "_configured", {})
    got = sluice_memory.settings()
    assert got["memory_limit_bytes"] == 512 * MIB and got["interval"] == 2.5, got
    assert got["release"] == "env@1" and "tracemalloc_top" not in got, got
    sluice_memory.configure(release="conf@2", memory_limit_bytes="1GiB")
    got = sluice_memory.settings(release="arg@3")
    assert got["release"] == "arg@3" and got["memory_limit_bytes"] == "1GiB", got
    with pytest.raises(TypeError):
        sluice_memory.configure(intervall=3)
    s = sluice_memory.Sampler("http://k@127.0.0.1:1/1", **{k: v for k, v in got.items()
                                                           if k != "dsn"})
    assert (s.interval, s.release, s.memory_limit_bytes) == (2.5, "arg@3", 1 << 30)


GUNICORN = "/usr/bin/gunicorn"
WSGI_APP = "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n"
DJANGO_SETTINGS = textwrap.dedent("""\
    SECRET_KEY = "e2e"
    DEBUG = False
    ALLOWED_HOSTS = ["*"]
    ROOT_URLCONF = "dj_urls"
    INSTALLED_APPS = ["sluice_memory.django"]
    SLUICE_MEMORY = {"release": "django@7", "memory_limit_bytes": "640M"}
""")
DJANGO_WSGI = ("import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'dj_settings')\n"
               "from django.core.wsgi import get_wsgi_application\napp = get_wsgi_application()\n")
needs_gunicorn = pytest.mark.skipif(not os.path.exists(GUNICORN),
                                    reason="Debian's gunicorn is not installed")


def run_gunicorn(tmp_path, module, env, workers=2):
    """Starts Debian's gunicorn on a free port with the sluice hooks in gunicorn.conf.py and
    sdk-protocol/python on the path. Returns the Popen (stderr is gunicorn's log)."""
    (tmp_path / "gunicorn.conf.py").write_text(
        "from sluice_memory_gunicorn import pre_fork, post_fork  # noqa: F401\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "SENTRY_"))}
    full.update(env, PYTHONPATH=os.pathsep.join([SDK_PY, str(tmp_path)]))
    return subprocess.Popen([GUNICORN, "-c", str(tmp_path / "gunicorn.conf.py"), "-w", str(workers),
                             "-b", "127.0.0.1:%d" % port, "-n", "e2e-gun", module],
                            cwd=str(tmp_path), env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def stop_gunicorn(proc):
    proc.terminate()
    try:
        return proc.communicate(timeout=20)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1]


@needs_gunicorn
def test_gunicorn_hooks_take_settings_from_the_environment(server, tmp_path):
    project = server.create_project("memory-gunicorn")
    (tmp_path / "wsgi_app.py").write_text(WSGI_APP)
    proc = run_gunicorn(tmp_path, "wsgi_app:app", {
        "SLUICE_DSN": server.dsn(project), "SLUICE_MEMORY_LIMIT": "300M",
        "SLUICE_RELEASE": "shop@2.0", "SLUICE_INTERVAL": "0.2", "SLUICE_SERVICE": "web"})
    try:
        host = socket.gethostname()
        ids = ["%s/web-0" % host, "%s/web-1" % host]
        # 0.2 s between samples: a batch of 6 within seconds (at the default 10 s, a minute)
        ws = server.wait_for(lambda: (lambda ws: ws if len(ws) == 2 else None)(
            [w for w in workers(server, project) if w["id"] in ids]), timeout=15)
        for w in ws:
            assert w["memory_limit_bytes"] == 300 * MIB, w
            assert w["release"] == "shop@2.0" and w["service"] == "web", w
        status, points = memory_points(server, project, ids[0])
        assert status == 200 and len(points) >= 6, points
        gaps = [b[0] - a[0] for a, b in zip(points, points[1:])]
        assert sorted(gaps)[len(gaps) // 2] < 1.0, gaps
    finally:
        log = stop_gunicorn(proc)
    assert "no DSN" not in log, log


@needs_gunicorn
def test_gunicorn_without_dsn_says_so_once(tmp_path):
    (tmp_path / "wsgi_app.py").write_text(WSGI_APP)
    proc = run_gunicorn(tmp_path, "wsgi_app:app", {}, workers=3)
    time.sleep(3)
    log = stop_gunicorn(proc)
    assert "Booting worker" in log, log
    lines = [l for l in log.splitlines() if "sluice_memory: no DSN" in l]
    assert len(lines) == 1, log
    assert "SLUICE_DSN" in lines[0], lines


@needs_gunicorn
def test_django_settings_reach_the_sampler_the_gunicorn_hooks_started(server, tmp_path):
    pytest.importorskip("django")
    project = server.create_project("memory-django")
    (tmp_path / "dj_settings.py").write_text(DJANGO_SETTINGS)
    (tmp_path / "dj_urls.py").write_text("urlpatterns = []\n")
    (tmp_path / "dj_wsgi.py").write_text(DJANGO_WSGI)
    proc = run_gunicorn(tmp_path, "dj_wsgi:app", {
        "SLUICE_DSN": server.dsn(project), "SLUICE_INTERVAL": "0.2"}, workers=1)
    try:
        wid = "%s/e2e-gun-0" % socket.gethostname()
        # the hooks start sampling before Django loads; its settings apply from then on
        w = server.wait_for(lambda: (lambda w: w if w and w["release"] else None)(
            find_worker(server, project, wid)), timeout=15)
        assert w["release"] == "django@7" and w["memory_limit_bytes"] == 640 * MIB, w
    finally:
        stop_gunicorn(proc)
