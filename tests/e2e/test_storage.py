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
