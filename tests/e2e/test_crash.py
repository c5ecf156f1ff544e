"""Crash safety: an event that got a 200 is durable across kill -9, and SIGTERM drains
everything in flight before exiting 0. The database passes PRAGMA integrity_check after both."""
import json
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid

CLIENTS = 6


def sender(s, project, acked, lock, stop):
    url = f"{s.base}/api/{project['id']}/store/?sentry_key={project['public_key']}"
    while not stop.is_set():
        eid = uuid.uuid4().hex
        body = json.dumps({"event_id": eid, "message": f"crash test {eid}",
                           "extra": {"pad": "z" * 2000}}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200 and json.loads(r.read())["id"] == eid:
                    with lock:
                        acked.append(eid)
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.02)  # refused while the server is down or stopping


def run_senders(s, project, seconds, stop_server):
    acked, lock, stop = [], threading.Lock(), threading.Event()
    threads = [threading.Thread(target=sender, args=(s, project, acked, lock, stop), daemon=True)
               for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    rc = stop_server()
    stop.set()
    for t in threads:
        t.join(10)
    return acked, rc


def assert_all_stored(s, project, acked):
    missing = [eid for eid in acked
               if s.request("GET", f"/api/v1/projects/{project['id']}/events/{eid}")[0] != 200]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events lost: {missing[:5]}"


def integrity(db_path):
    con = sqlite3.connect(db_path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_kill9_loses_no_acknowledged_event(server):
    p = server.create_project("crash")
    for round_ in range(2):
        acked, _ = run_senders(server, p, 1.5, lambda: server.stop(signal.SIGKILL))
        assert len(acked) > 20, acked
        assert integrity(server.db) == "ok"
        server.start()
        assert_all_stored(server, p, acked)


def test_sigterm_drains_and_exits_zero(server):
    p = server.create_project("term")
    acked, rc = run_senders(server, p, 1.5, lambda: server.stop(signal.SIGTERM, timeout=20))
    assert rc == 0, server.read_log()[-3000:]
    assert len(acked) > 20
    assert "sluice stopped" in server.read_log()
    assert integrity(server.db) == "ok"
    server.start()
    assert_all_stored(server, p, acked)
