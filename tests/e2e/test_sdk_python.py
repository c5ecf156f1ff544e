"""The real Python SDK (Debian's python3-sentry-sdk 1.9.10, run by /usr/bin/python3) sending to
a running sluice, checked through the management API. Every SDK scenario runs in its own child
process so the SDK's global state (hub, client, transport thread) never leaks between tests;
each test uses its own project on one server for the module (the SDK sends asynchronously, so
results are polled with wait_for)."""
import gzip
import json
import os
import re
import subprocess
import sys
import textwrap
import urllib.parse
import uuid

import pytest

from conftest import ADMIN_TOKEN, Server

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SDK_PY = "/usr/bin/python3"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("sdkpy"))).start()
    yield s
    s.stop()


def run_sdk(server, project, body, release="shop@1.0.0", init_extra=""):
    """Runs `body` in a child /usr/bin/python3 with sentry_sdk initialised on the project's DSN;
    returns the JSON values the script printed with out(...), one per line."""
    script = textwrap.dedent("""\
        import json, logging, sys
        import sentry_sdk
        from sentry_sdk import push_scope, configure_scope, capture_exception, capture_message
        def out(v):
            print(json.dumps(v), flush=True)
        sentry_sdk.init(dsn=%r, release=%r, environment="production", debug=False %s)
        """) % (server.dsn(project), release, init_extra)
    script += textwrap.dedent(body) + "\nsentry_sdk.flush(timeout=10)\n"
    env = dict(os.environ)
    env.pop("SENTRY_DSN", None)
    r = subprocess.run([SDK_PY, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def issues(server, pid, **q):
    q.setdefault("status", "all")
    doc = server.api("GET", f"/api/v1/projects/{pid}/issues?" + urllib.parse.urlencode(q), expect=200)
    return doc["issues"]


def wait_issue_counts(server, pid, expected_total):
    """Waits until the project's issues add up to expected_total events; returns the issues."""
    def ready():
        got = issues(server, pid, limit=100)
        return got if sum(i["count"] for i in got) == expected_total else None
    got = server.wait_for(ready)
    # nothing more arrives later (no duplicates from retries etc.)
    assert sum(i["count"] for i in issues(server, pid, limit=100)) == expected_total
    return got


def stats(server, pid):
    return server.api("GET", f"/api/v1/projects/{pid}/stats", expect=200)


def by_title_prefix(lst, prefix):
    found = [i for i in lst if i["title"].startswith(prefix)]
    assert len(found) == 1, (prefix, [i["title"] for i in lst])
    return found[0]


# --- grouping ----------------------------------------------------------------------------------

def test_same_failure_three_times_is_one_issue_different_failures_are_not(srv):
    p = srv.create_project("same-failure")
    ids = run_sdk(srv, p, """
        def charge(order):
            raise ValueError("card declined for order %d" % order)
        def lookup(key):
            return {}[key]
        for order in (17, 18, 19):
            try:
                charge(order)
            except ValueError as e:
                out(capture_exception(e))
        try:
            lookup("sku")
        except KeyError as e:
            out(capture_exception(e))
        try:
            1 / 0
        except ZeroDivisionError as e:
            out(capture_exception(e))
        """)
    assert len(ids) == 5 and len(set(ids)) == 5
    got = wait_issue_counts(srv, p["id"], 5)
    assert sorted(i["count"] for i in got) == [1, 1, 3]
    value_err = by_title_prefix(got, "ValueError: card declined for order")
    assert value_err["count"] == 3
    assert by_title_prefix(got, "KeyError: ")["count"] == 1
    assert by_title_prefix(got, "ZeroDivisionError: division by zero")["count"] == 1

    # issue detail: title "Type: value", culprit = top in-app frame, level, RFC 3339 times,
    # releases, and the latest event
    d = srv.api("GET", f"/api/v1/issues/{value_err['id']}", expect=200)
    assert d["title"] == "ValueError: card declined for order 19"
    assert d["culprit"] == "__main__ in charge"
    assert d["level"] == "error"
    assert d["status"] == "unresolved"
    assert d["count"] == 3
    assert RFC3339.match(d["first_seen"]) and RFC3339.match(d["last_seen"]), d
    assert d["first_seen"] < d["last_seen"]
    assert d["first_release"] == "shop@1.0.0" and d["last_release"] == "shop@1.0.0"
    assert d["latest_event"]["event_id"] == ids[2]

    # the issue's events: exactly the three event ids
    ev = srv.api("GET", f"/api/v1/issues/{value_err['id']}/events", expect=200)
    assert sorted(e["event_id"] for e in ev["events"]) == sorted(ids[:3])
    assert ev["next_cursor"] is None
    assert all(RFC3339.match(e["timestamp"]) for e in ev["events"])

    # event detail: the stored event with its full stack trace
    e = srv.api("GET", f"/api/v1/projects/{p['id']}/events/{ids[0]}", expect=200)
    assert e["event_id"] == ids[0]
    assert e["issue_id"] == value_err["id"]
    exc = e["exception"]["values"][-1]
    assert exc["type"] == "ValueError" and exc["value"] == "card declined for order 17"
    funcs = [f["function"] for f in exc["stacktrace"]["frames"]]
    assert funcs == ["<module>", "charge"], funcs
    assert all(isinstance(f["lineno"], int) for f in exc["stacktrace"]["frames"])
    # dashed UUID form finds the same event; unknown ids are 404 with a detail
    dashed = str(uuid.UUID(ids[0]))
    assert srv.api("GET", f"/api/v1/projects/{p['id']}/events/{dashed}", expect=200)["event_id"] == ids[0]
    st, body, _ = srv.request("GET", f"/api/v1/projects/{p['id']}/events/{uuid.uuid4().hex}")
    assert st == 404 and isinstance(body["detail"], str)


def test_log_message_template_with_different_parameters_is_one_issue(srv):
    p = srv.create_project("logging")
    run_sdk(srv, p, """
        log = logging.getLogger("shop.orders")
        for order, n in (("A-17", 3), ("B-99", 5), ("C-1", 1)):
            log.error("Order %s failed after %d retries", order, n)
        logging.error("Inventory for %s is negative", "sku-1")
        """)
    got = wait_issue_counts(srv, p["id"], 4)
    assert sorted(i["count"] for i in got) == [1, 3]
    orders = [i for i in got if i["count"] == 3][0]
    assert orders["title"].startswith("Order "), orders
    assert orders["level"] == "error"
    ev = srv.api("GET", f"/api/v1/issues/{orders['id']}/events", expect=200)["events"]
    e = srv.api("GET", f"/api/v1/projects/{p['id']}/events/{ev[0]['event_id']}", expect=200)
    assert e["logentry"]["message"] == "Order %s failed after %d retries"
    assert e["logger"] == "shop.orders"


def test_custom_fingerprint_is_its_own_issue(srv):
    p = srv.create_project("fingerprint")
    run_sdk(srv, p, """
        def charge(order):
            raise ValueError("card declined for order %d" % order)
        def refund(order):
            raise KeyError(order)
        def send(fn, order, fingerprint):
            try:
                fn(order)
            except Exception as e:
                with push_scope() as scope:
                    if fingerprint is not None:
                        scope.fingerprint = fingerprint
                    capture_exception(e)
        send(charge, 1, None)                                   # default grouping
        send(charge, 2, None)
        send(charge, 3, ["payment-gateway"])                    # both fingerprinted: one issue
        send(refund, 4, ["payment-gateway"])
        send(charge, 5, ["payment-gateway", "{{ default }}"])    # fingerprint + default grouping
        send(charge, 6, ["payment-gateway", "{{ default }}"])
        send(refund, 7, ["payment-gateway", "{{ default }}"])
        """)
    got = wait_issue_counts(srv, p["id"], 7)
    assert len(got) == 4, [(i["title"], i["count"]) for i in got]
    assert sorted(i["count"] for i in got) == [1, 2, 2, 2]
    # the fingerprinted pair spans two exception types
    keyerr = [i for i in got if i["title"].startswith("KeyError")]
    assert sorted(i["count"] for i in keyerr) == [1, 2], keyerr


def test_resolved_issue_regresses_with_alert_and_releases(srv):
    p = srv.create_project("regression")
    body = """
        def charge(order):
            raise ValueError("card declined for order %d" % order)
        try:
            charge(1)
        except ValueError as e:
            out(capture_exception(e))
        """
    run_sdk(srv, p, body, release="shop@1.0.0")
    [issue] = wait_issue_counts(srv, p["id"], 1)
    st, doc, _ = srv.request("PATCH", f"/api/v1/issues/{issue['id']}", {"status": "resolved"})
    assert (st, doc) == (200, {"id": issue["id"], "status": "resolved"})
    assert [i["id"] for i in issues(srv, p["id"], status="resolved")] == [issue["id"]]
    assert issues(srv, p["id"], status="unresolved") == []
    assert srv.api("GET", f"/api/v1/projects/{p['id']}/alerts?kind=regression", expect=200)["alerts"] == []

    run_sdk(srv, p, body, release="shop@1.1.0")
    srv.wait_for(lambda: srv.api("GET", f"/api/v1/issues/{issue['id']}", expect=200)["count"] == 2)
    d = srv.api("GET", f"/api/v1/issues/{issue['id']}", expect=200)
    assert d["status"] == "unresolved"
    assert d["first_release"] == "shop@1.0.0" and d["last_release"] == "shop@1.1.0"
    assert [i["id"] for i in issues(srv, p["id"], status="unresolved")] == [issue["id"]]
    alerts = srv.api("GET", f"/api/v1/projects/{p['id']}/alerts?kind=regression", expect=200)["alerts"]
    assert len(alerts) == 1, alerts
    assert alerts[0]["kind"] == "regression" and alerts[0]["issue_id"] == issue["id"]
    assert RFC3339.match(alerts[0]["fired_at"])

    # other statuses: ignored is accepted, unknown values are a 400, unknown issues a 404
    st, doc, _ = srv.request("PATCH", f"/api/v1/issues/{issue['id']}", {"status": "ignored"})
    assert st == 200
    st, doc, _ = srv.request("PATCH", f"/api/v1/issues/{issue['id']}", {"status": "gone"})
    assert st == 400 and isinstance(doc["detail"], str)
    st, doc, _ = srv.request("PATCH", "/api/v1/issues/999999", {"status": "resolved"})
    assert st == 404 and isinstance(doc["detail"], str)


def test_retried_event_id_counts_once(srv):
    """The SDK's own transport sends the very same event twice (to /store/), and the same
    envelope twice (to /envelope/), as a retry would."""
    p = srv.create_project("retries")
    ids = run_sdk(srv, p, """
        import copy
        from sentry_sdk.envelope import Envelope
        def fail(n):
            raise RuntimeError("flaky %d" % n)
        client = sentry_sdk.Hub.current.client
        transport = client.transport
        kept = []
        def keep(event, hint):
            kept.append(copy.deepcopy(event))
            return event
        client.options["before_send"] = keep
        try:
            fail(1)
        except RuntimeError as e:
            out(capture_exception(e))
        sentry_sdk.flush(timeout=10)
        transport.capture_event(copy.deepcopy(kept[0]))        # retry on /store/
        sentry_sdk.flush(timeout=10)
        ev = copy.deepcopy(kept[0])
        ev["event_id"] = "%032x" % 0xfeedface
        ev["exception"]["values"][0]["value"] = "flaky 2"
        for _ in range(2):                                     # same envelope twice
            env = Envelope(headers={"event_id": ev["event_id"]})
            env.add_event(copy.deepcopy(ev))
            transport.capture_envelope(env)
            sentry_sdk.flush(timeout=10)
        out(ev["event_id"])
        """)
    assert len(ids) == 2
    [issue] = wait_issue_counts(srv, p["id"], 2)
    assert issue["count"] == 2
    ev = srv.api("GET", f"/api/v1/issues/{issue['id']}/events", expect=200)["events"]
    assert sorted(e["event_id"] for e in ev) == sorted(ids)
    assert stats(srv, p["id"])["events"] == 2


# --- other item types --------------------------------------------------------------------------

def test_transaction_attachment_sessions_and_client_report(srv):
    p = srv.create_project("items")
    ids = run_sdk(srv, p, """
        hub = sentry_sdk.Hub.current
        with sentry_sdk.start_transaction(op="task", name="checkout"):
            pass
        with push_scope() as scope:
            scope.add_attachment(bytes=b'{"cart": [1, 2, 3]}', filename="cart.json",
                                 content_type="application/json")
            out(capture_message("attachment test"))
        # an application-mode session that saw an error: a "session" item
        hub.start_session()
        try:
            {}["k"]
        except KeyError as e:
            capture_exception(e)
        hub.end_session()
        # a healthy one
        hub.start_session()
        hub.end_session()
        # a request-mode session: a "sessions" aggregate item
        hub.start_session(session_mode="request")
        hub.end_session()
        # an event dropped by before_send: a client report
        client = hub.client
        client.options["before_send"] = lambda event, hint: None
        capture_message("dropped")
        """, init_extra=", traces_sample_rate=1.0, auto_session_tracking=False")
    [att_event] = ids

    s = srv.wait_for(lambda: (lambda s: s if s["transactions"] >= 1 and s["attachments"] >= 1
                              and s["dropped"] and s["releases"] else None)(stats(srv, p["id"])))
    # everything arrives before the child exits (flush); give stragglers no chance to differ
    s = stats(srv, p["id"])
    assert s["transactions"] == 1
    assert s["attachments"] == 1
    assert s["events"] == 2  # the attachment's message and the KeyError
    assert s["dropped"] == [{"reason": "before_send", "category": "error", "quantity": 1}]
    assert len(s["releases"]) == 1, s
    rel = s["releases"][0]
    assert rel["release"] == "shop@1.0.0" and rel["environment"] == "production"
    assert (rel["healthy"], rel["errored"], rel["crashed"]) == (2, 1, 0), rel
    assert rel["total"] == 3
    assert srv.api("GET", f"/api/v1/projects/{p['id']}/events/{att_event}", expect=200)["message"] == "attachment test"


# --- issue list: status, sort, query, paging ---------------------------------------------------

def test_issue_list_filters_sorting_and_paging(srv):
    p = srv.create_project("listing")
    run_sdk(srv, p, """
        def boom(kind):
            raise kind("boom")
        for i in range(7):
            kind = type("Err%d" % i, (Exception,), {})
            for _ in range(3 if i == 4 else 1):
                try:
                    boom(kind)
                except Exception as e:
                    capture_exception(e)
        """)
    got = wait_issue_counts(srv, p["id"], 9)
    assert len(got) == 7
    titles_by_id = {i["id"]: i["title"] for i in got}

    # paging: limit 3 → 3 + 3 + 1, no duplicates, next_cursor null at the end
    for sort in ("last_seen", "first_seen", "count"):
        seen, cursor, pages = [], None, 0
        while True:
            q = {"status": "all", "sort": sort, "limit": 3}
            if cursor:
                q["cursor"] = cursor
            doc = srv.api("GET", f"/api/v1/projects/{p['id']}/issues?" + urllib.parse.urlencode(q), expect=200)
            pages += 1
            seen += doc["issues"]
            cursor = doc["next_cursor"]
            if cursor is None:
                break
            assert len(doc["issues"]) == 3 and isinstance(cursor, str)
            assert pages < 10
        assert pages == 3, sort
        ids = [i["id"] for i in seen]
        assert len(ids) == 7 and set(ids) == set(titles_by_id), sort
        if sort == "count":
            assert [i["count"] for i in seen] == [3, 1, 1, 1, 1, 1, 1]
            assert seen[0]["title"].endswith("Err4: boom")
        elif sort == "first_seen":
            assert [i["first_seen"] for i in seen] == sorted((i["first_seen"] for i in seen), reverse=True)
            assert seen[-1]["title"].endswith("Err0: boom")
        else:
            assert [i["last_seen"] for i in seen] == sorted((i["last_seen"] for i in seen), reverse=True)
            assert seen[0]["title"].endswith("Err6: boom")
        for i in seen:
            assert set(i) >= {"id", "title", "culprit", "level", "status", "count", "first_seen", "last_seen"}

    # query matches title text
    q = issues(srv, p["id"], query="Err3")
    assert [i["title"] for i in q] == [t for t in titles_by_id.values() if "Err3" in t]
    assert len(q) == 1
    assert issues(srv, p["id"], query="no-such-text") == []

    # status filter (default is unresolved)
    target = q[0]["id"]
    srv.api("PATCH", f"/api/v1/issues/{target}", {"status": "resolved"}, expect=200)
    default = srv.api("GET", f"/api/v1/projects/{p['id']}/issues", expect=200)
    assert len(default["issues"]) == 6 and target not in [i["id"] for i in default["issues"]]
    assert default["next_cursor"] is None
    assert [i["id"] for i in issues(srv, p["id"], status="resolved")] == [target]
    assert issues(srv, p["id"], status="ignored") == []
    assert len(issues(srv, p["id"], status="all")) == 7

    # bad parameters: 400 with a detail
    # a cursor too long to be one the server gave out is refused, not read as "no cursor"; so
    # are cursors on the id-paged lists (events of an issue, alerts)
    for bad in ("status=bogus", "sort=bogus", "limit=0", "limit=abc", "cursor=garbage",
                "cursor=" + "9" * 300 + ":1"):
        st, doc, _ = srv.request("GET", f"/api/v1/projects/{p['id']}/issues?{bad}")
        assert st == 400 and isinstance(doc["detail"], str) and doc["detail"], (bad, st, doc)
    for path in (f"/api/v1/issues/{target}/events?cursor=1:2", f"/api/v1/projects/{p['id']}/alerts?cursor=x"):
        st, doc, _ = srv.request("GET", path)
        assert st == 400 and "cursor" in doc["detail"], (path, st, doc)


# --- auth ----------------------------------------------------------------------------------------

def _store(server, pid, body, headers):
    h = {"Content-Type": "application/json"}
    h.update(headers)
    return server.request("POST", f"/api/{pid}/store/", json.dumps(body).encode(), headers=h, token=None, raw=True)


def test_ingest_auth_failures_all_look_the_same(srv):
    a = srv.create_project("auth-a")
    b = srv.create_project("auth-b")
    ev = {"event_id": uuid.uuid4().hex, "message": "hello", "level": "error"}
    answers = []
    for headers in (
        {"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=wrongkey00000000"},
        {},
        {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={b['public_key']}"},
    ):
        st, body, h = _store(srv, a["id"], ev, headers)
        answers.append((st, body))
        assert h["Content-Type"].startswith("application/json")
    assert answers[0] == answers[1] == answers[2], answers
    st, body = answers[0]
    assert st in (401, 403)
    assert isinstance(json.loads(body)["detail"], str)
    # the SDK with a wrong key gets the same answer, and nothing is stored for either project
    wrong = dict(a, public_key="0123456789abcdef0123456789abcdef")
    run_sdk(srv, wrong, 'capture_message("never stored")')
    st, body, _ = _store(srv, a["id"], ev, {"X-Sentry-Auth": f"Sentry sentry_key={a['public_key']}"})
    assert (st, json.loads(body)) == (200, {"id": ev["event_id"]})
    assert [i["title"] for i in issues(srv, a["id"])] == ["hello"]
    assert stats(srv, a["id"])["events"] == 1
    assert issues(srv, b["id"]) == []


def test_management_api_needs_the_admin_token(srv):
    p = srv.create_project("mgmt")
    paths = [("GET", "/api/v1/projects"), ("POST", "/api/v1/projects"),
             ("GET", f"/api/v1/projects/{p['id']}/issues"), ("GET", f"/api/v1/projects/{p['id']}/stats"),
             ("GET", "/api/v1/issues/1"), ("PATCH", "/api/v1/issues/1"),
             ("GET", f"/api/v1/projects/{p['id']}/alerts")]
    for method, path in paths:
        for token in (None, "wrong-token", ADMIN_TOKEN + "x"):
            body = {"name": "x", "status": "resolved"} if method != "GET" else None
            st, doc, _ = srv.request(method, path, body, token=token)
            assert st == 401, (method, path, token, st, doc)
            assert isinstance(doc["detail"], str) and doc["detail"]
    # the right token works, and the project list has the shape the API promises
    doc = srv.api("GET", "/api/v1/projects", expect=200)
    mine = [x for x in doc["projects"] if x["id"] == p["id"]]
    assert len(mine) == 1 and mine[0]["public_key"] == p["public_key"] and mine[0]["name"] == "mgmt"
    assert p["dsn"].endswith(f"/{p['id']}") and p["public_key"] in p["dsn"]
