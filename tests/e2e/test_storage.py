"""Disk full and retention. A full database (played with the hidden --max-db-pages flag, which
makes SQLite answer SQLITE_FULL as a full disk does) is a 503 with Retry-After and a failing
/readyz, never a corrupt file; ingest recovers once there is room again. Retention deletes old
events in batches and the freed pages go back (incremental vacuum)."""
import json
import os
import sqlite3
import time
import uuid

from conftest import Server


def send(s, p, size=20_000):
    eid = uuid.uuid4().hex
    body = json.dumps({"event_id": eid, "message": "disk", "extra": {"pad": os.urandom(size // 2)
                                                                     .hex()}}).encode()
    st, doc, h = s.request("POST", f"/api/{p['id']}/store/?sentry_key={p['public_key']}",
                           body=body, headers={"Content-Type": "application/json"}, token=None)
    return st, doc, h, eid


def integrity(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_disk_full_503_and_recovery(tmp_path):
    s = Server(str(tmp_path), ["--max-db-pages", "120"]).start()
    try:
        p = s.create_project("full")
        acked, status, headers = [], None, None
        for _ in range(100):
            status, doc, headers, eid = send(s, p)
            if status != 200:
                break
            acked.append(eid)
        assert status == 503, (status, doc)
        assert doc["detail"] and headers["Retry-After"].isdigit()
        assert s.request("GET", "/readyz", token=None)[0] == 503
        assert s.request("GET", "/healthz", token=None)[0] == 200  # alive, just not writable
        assert send(s, p)[0] == 503  # still full: still a clean 503
        assert "storage failing" in s.read_log()
    finally:
        assert s.stop() == 0
    assert integrity(s.db) == "ok"
    # Room again (the cap lifted): ingest works, nothing acknowledged was lost.
    s.extra_args = []
    s.start()
    try:
        assert s.request("GET", "/readyz", token=None)[0] == 200
        assert send(s, p)[0] == 200
        for eid in acked:
            assert s.request("GET", f"/api/v1/projects/{p['id']}/events/{eid}")[0] == 200
    finally:
        assert s.stop() == 0
    assert integrity(s.db) == "ok"


def test_retention_deletes_in_batches_and_db_stops_growing(tmp_path):
    s = Server(str(tmp_path), ["--event-retention-days", "1"]).start()
    p = s.create_project("old")
    keep = [send(s, p, 2000)[3] for _ in range(3)]
    assert s.stop() == 0
    # Age the database while the server is down: 5000 events received 3 days ago.
    con = sqlite3.connect(s.db)
    old = time.time() - 3 * 86400
    row = con.execute("SELECT project_id, issue_id, timestamp, level, payload FROM events"
                      " LIMIT 1").fetchone()
    pad = os.urandom(1500).hex().encode()
    with con:
        con.executemany(
            "INSERT INTO events(project_id, issue_id, event_id, timestamp, received, level,"
            " payload) VALUES(?,?,?,?,?,?,?)",
            [(row[0], row[1], uuid.uuid4().bytes, row[2], old, row[3], pad) for _ in range(5000)])
    pages_full = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    s.start()
    try:
        def old_left():
            c = sqlite3.connect(s.db)
            try:
                return c.execute("SELECT count(*) FROM events WHERE received < ?",
                                 (time.time() - 86400,)).fetchone()[0]
            finally:
                c.close()
        s.wait_for(lambda: old_left() == 0, timeout=30, interval=0.2)
        for eid in keep:
            assert s.request("GET", f"/api/v1/projects/{p['id']}/events/{eid}")[0] == 200
    finally:
        assert s.stop() == 0
    con = sqlite3.connect(s.db)
    pages_after, free = (con.execute("PRAGMA page_count").fetchone()[0],
                         con.execute("PRAGMA freelist_count").fetchone()[0])
    con.close()
    assert pages_after < pages_full / 2, (pages_full, pages_after, free)
    assert integrity(s.db) == "ok"


def used_bytes(path):
    con = sqlite3.connect(path)
    try:
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
        return (pages - free) * size
    finally:
        con.close()


def test_size_cap_evicts_the_oldest_events(tmp_path):
    """--max-db-mb: past the cap the housekeeping pass evicts the oldest events in batches and
    the pages in use come back under the cap; the newest events stay."""
    s = Server(str(tmp_path), ["--max-db-mb", "1"]).start()
    try:
        p = s.create_project("capped")
        ids = []
        for _ in range(120):  # ~20 KB each: about 2.4 MB of events
            st, doc, _, eid = send(s, p)
            assert st == 200, (st, doc)
            ids.append(eid)

        def evicted():
            st, _, _ = s.request("GET", f"/api/v1/projects/{p['id']}/events/{ids[0]}")
            return st == 404
        s.wait_for(evicted, timeout=40, interval=0.5)
        assert "evicted oldest events" in s.read_log()
        assert s.request("GET", f"/api/v1/projects/{p['id']}/events/{ids[-1]}")[0] == 200
    finally:
        assert s.stop() == 0
    assert used_bytes(s.db) <= 1.5 * 1024 * 1024
    assert integrity(s.db) == "ok"


def metric(s, name):
    text = s.request("GET", "/metrics", token=None, raw=True)[1].decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_checkpoints_run_beside_the_writer_and_bound_the_wal(tmp_path):
    """The checkpointer thread copies the WAL into the database while ingest goes on; the WAL is
    reused instead of growing with the data (about 80 MB written here, past the 64 MB hard
    size), and every acknowledged event is there afterwards."""
    s = Server(str(tmp_path)).start()
    try:
        p = s.create_project("wal")
        acked, wal_max = [], 0
        for i in range(400):
            status, doc, _, eid = send(s, p, size=200_000)
            assert status == 200, doc
            acked.append(eid)
            if i % 20 == 0 and os.path.exists(s.db + "-wal"):
                wal_max = max(wal_max, os.path.getsize(s.db + "-wal"))
        s.wait_for(lambda: metric(s, 'sluice_checkpoints_total{by="checkpointer"}') > 0)
        assert metric(s, "sluice_checkpoint_pages_total") > 4000
        assert metric(s, "sluice_checkpoint_failures_total") == 0
        assert wal_max < 72 << 20, wal_max
        for eid in acked[::40]:
            assert s.request("GET", f"/api/v1/projects/{p['id']}/events/{eid}")[0] == 200
    finally:
        assert s.stop() == 0
    assert integrity(s.db) == "ok"
    con = sqlite3.connect(s.db)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 400
    finally:
        con.close()
