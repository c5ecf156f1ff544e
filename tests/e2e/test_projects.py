"""Project management against a running sluice: names are unique ignoring case (409 on create
and rename), PATCH takes name and/or rate_limit_per_minute and refuses unknown fields and wrong
types naming them, DELETE removes the project with its key (ingest answers 401 at once) and its
data, and a deleted project's id is not given out again."""
import json
import sqlite3
import time
import uuid

import pytest

from conftest import Server


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("projects"))).start()
    yield s
    s.stop()


def auth(p):
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={p['public_key']}",
            "Content-Type": "application/json"}


def send_event(srv, p, message="boom"):
    ev = {"event_id": uuid.uuid4().hex, "level": "error", "platform": "python",
          "exception": {"values": [{"type": "DeleteMe", "value": message}]}}
    return srv.request("POST", f"/api/{p['id']}/store/", json.dumps(ev).encode(), headers=auth(p),
                       token=None)


def send_memory(srv, p, worker="web-1"):
    now = int(time.time())
    body = {"worker": {"id": worker, "pid": 7, "started_at": now - 100},
            "samples": [{"timestamp": now - 10, "rss_bytes": 1000000},
                        {"timestamp": now, "rss_bytes": 1100000}]}
    return srv.request("POST", f"/api/{p['id']}/memory", json.dumps(body).encode(),
                       headers=auth(p), token=None)


def names(srv):
    return [p["name"] for p in srv.api("GET", "/api/v1/projects", expect=200)["projects"]]


def test_names_are_unique_ignoring_case_and_trimmed(srv):
    srv.create_project("Billing")
    for taken in ("Billing", "billing", "  BILLING \t"):
        st, doc, _ = srv.request("POST", "/api/v1/projects", {"name": taken})
        assert st == 409, (taken, st, doc)
        assert "name" in doc["detail"] and "already exists" in doc["detail"], doc
    p = srv.create_project("  spaced out  ")
    assert p["name"] == "spaced out"
    assert names(srv).count("Billing") == 1 and "spaced out" in names(srv)
    for bad in ("", "   ", 5, None, "x" * 101, "tab\tinside"):
        st, doc, _ = srv.request("POST", "/api/v1/projects", {"name": bad})
        assert st == 400 and doc["detail"].startswith("name:"), (bad, st, doc)


def test_rename_shows_in_list_and_get_and_refuses_a_taken_name(srv):
    a = srv.create_project("rename-a")
    srv.create_project("rename-b")
    doc = srv.api("PATCH", f"/api/v1/projects/{a['id']}", {"name": " renamed-a "}, expect=200)
    assert doc["id"] == a["id"] and doc["name"] == "renamed-a", doc
    assert srv.api("GET", f"/api/v1/projects/{a['id']}", expect=200)["name"] == "renamed-a"
    assert "renamed-a" in names(srv) and "rename-a" not in names(srv)
    # Another project's name, in any case: 409 naming the field; nothing changes.
    st, doc, _ = srv.request("PATCH", f"/api/v1/projects/{a['id']}", {"name": "RENAME-B"})
    assert st == 409 and doc["detail"].startswith("name:"), (st, doc)
    assert srv.api("GET", f"/api/v1/projects/{a['id']}", expect=200)["name"] == "renamed-a"
    # Its own name in another case is a rename, not a conflict.
    doc = srv.api("PATCH", f"/api/v1/projects/{a['id']}", {"name": "Renamed-A"}, expect=200)
    assert doc["name"] == "Renamed-A"
    # The key keeps working after a rename.
    assert send_event(srv, a)[0] == 200


def test_patch_fields(srv):
    p = srv.create_project("patch-fields")
    url = f"/api/v1/projects/{p['id']}"
    doc = srv.api("PATCH", url, {"rate_limit_per_minute": 7}, expect=200)
    assert doc == {"id": p["id"], "name": "patch-fields", "rate_limit_per_minute": 7}
    doc = srv.api("PATCH", url, {"name": "patch-both", "rate_limit_per_minute": None}, expect=200)
    assert doc == {"id": p["id"], "name": "patch-both", "rate_limit_per_minute": None}
    doc = srv.api("PATCH", url, {"name": "patch-name"}, expect=200)
    assert doc["rate_limit_per_minute"] is None and doc["name"] == "patch-name"
    for body, field in (({"nmae": "x"}, "nmae"), ({"name": "y", "public_key": "k" * 10}, "public_key"),
                        ({"name": 3}, "name"), ({"rate_limit_per_minute": "5"}, "rate_limit_per_minute"),
                        ({"rate_limit_per_minute": -1}, "rate_limit_per_minute")):
        st, doc, _ = srv.request("PATCH", url, body)
        assert st == 400 and doc["detail"].startswith(field + ":"), (body, st, doc)
    st, doc, _ = srv.request("PATCH", url, {})
    assert st == 400 and "name or rate_limit_per_minute" in doc["detail"], doc
    assert srv.api("GET", url, expect=200)["name"] == "patch-name"
    st, _, _ = srv.request("PATCH", "/api/v1/projects/999999", {"name": "ghost"})
    assert st == 404


def test_delete_removes_project_key_and_data(srv):
    p = srv.create_project("doomed")
    keep = srv.create_project("survivor")
    for i in range(3):
        assert send_event(srv, p, f"boom {i}")[0] == 200
    assert send_event(srv, keep)[0] == 200
    assert send_memory(srv, p)[0] == 200
    assert send_memory(srv, keep)[0] == 200
    hook = srv.api("POST", f"/api/v1/projects/{p['id']}/webhooks",
                   {"url": "https://hooks.example.com/x", "kind": "generic"}, expect=201)
    issues = srv.wait_for(lambda: srv.api("GET", f"/api/v1/projects/{p['id']}/issues", expect=200)["issues"])
    issue_id = issues[0]["id"]
    assert srv.wait_for(lambda: srv.api("GET", f"/api/v1/projects/{p['id']}/workers", expect=200)["workers"])

    st, body, _ = srv.request("DELETE", f"/api/v1/projects/{p['id']}", raw=True)
    assert st == 204 and body == b"", (st, body)
    # Gone from the API at once, and its key no longer authenticates.
    assert srv.request("GET", f"/api/v1/projects/{p['id']}")[0] == 404
    assert "doomed" not in names(srv) and "survivor" in names(srv)
    assert srv.request("GET", f"/api/v1/projects/{p['id']}/issues")[0] == 404
    assert srv.request("GET", f"/api/v1/projects/{p['id']}/workers")[0] == 404
    assert srv.request("GET", f"/api/v1/issues/{issue_id}")[0] == 404
    assert srv.request("GET", f"/api/v1/webhooks/{hook['id']}/deliveries")[0] in (404,)
    assert send_event(srv, p)[0] == 401
    assert send_memory(srv, p)[0] == 401
    assert srv.request("DELETE", f"/api/v1/projects/{p['id']}")[0] == 404
    # Its rows are gone from every table (a small project goes in the delete itself); the other
    # project's are untouched.
    db = sqlite3.connect(srv.db)
    try:
        for table, where in (("events", "project_id=?"), ("issues", "project_id=?"),
                             ("workers", "project_id=?"), ("webhooks", "project_id=?"),
                             ("sample_chunks", "worker IN (SELECT id FROM workers WHERE project_id=?)")):
            gone = db.execute(f"SELECT count(*) FROM {table} WHERE {where}", (p["id"],)).fetchone()[0]
            kept = db.execute(f"SELECT count(*) FROM {table} WHERE {where}", (keep["id"],)).fetchone()[0]
            assert gone == 0, table
            assert kept > 0 or table == "webhooks", table
    finally:
        db.close()
    # The survivor still ingests; a new project does not get the deleted one's id, and the
    # deleted project's name is free again.
    assert send_event(srv, keep)[0] == 200
    again = srv.create_project("doomed")
    assert again["id"] > p["id"]


def test_delete_missing_project_is_404(srv):
    assert srv.request("DELETE", "/api/v1/projects/987654")[0] == 404
    assert srv.request("DELETE", "/api/v1/projects/nope")[0] == 404


def test_a_large_project_is_deleted_in_batches(server):
    """More rows than the delete itself removes: housekeeping passes delete the rest, a batch at
    a time, while the project is gone from the API at once."""
    p = server.create_project("large")
    keep = server.create_project("small")
    assert send_event(server, p)[0] == 200
    assert send_event(server, keep)[0] == 200
    issue = server.wait_for(lambda: server.api("GET", f"/api/v1/projects/{p['id']}/issues", expect=200)["issues"])[0]
    server.stop()
    db = sqlite3.connect(server.db)
    with db:
        db.executemany("INSERT INTO events(project_id, issue_id, event_id, timestamp, received, level,"
                       " payload) VALUES(?, ?, randomblob(16), 0, 0, 'error', '{}')",
                       [(p["id"], issue["id"])] * 12000)
    db.close()
    server.start()
    assert server.request("DELETE", f"/api/v1/projects/{p['id']}")[0] == 204
    assert server.request("GET", f"/api/v1/projects/{p['id']}")[0] == 404
    # its issues are gone at once too, though their rows are purged later
    assert server.request("GET", f"/api/v1/issues/{issue['id']}")[0] == 404
    assert server.request("GET", f"/api/v1/issues/{issue['id']}/events")[0] == 404
    assert server.request("PATCH", f"/api/v1/issues/{issue['id']}", {"status": "resolved"})[0] == 404

    def left():
        db = sqlite3.connect(server.db)
        try:
            return db.execute("SELECT count(*) FROM events WHERE project_id=?", (p["id"],)).fetchone()[0]
        finally:
            db.close()
    server.wait_for(lambda: left() == 0, timeout=40, interval=0.5)
    db = sqlite3.connect(server.db)
    try:
        assert db.execute("SELECT count(*) FROM issues WHERE project_id=?", (p["id"],)).fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM events WHERE project_id=?", (keep["id"],)).fetchone()[0] == 1
    finally:
        db.close()
