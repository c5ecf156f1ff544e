"""The Sentry ingest protocol over raw HTTP (http.client and sockets) against a running sluice:
HTTP/1.1 framing and keep-alive, Content-Encoding, every way of passing the key, CORS, bad input
(400 with a JSON detail, nothing stored, the server still serves), unknown item types,
durability of acknowledged events across kill -9, the command line, and a replay of every
request captured from the real SDKs (tests/fixtures/sdk-captures)."""
import gzip
import http.client
import json
import os
import socket
import subprocess
import time
import uuid
import zlib

import pytest

from conftest import ADMIN_TOKEN, SLUICE_BIN, Server

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("SLUICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))
CAPTURES = os.path.join(SOURCE, "tests", "fixtures", "sdk-captures")
EXPOSED = {"x-sentry-error", "x-sentry-rate-limits", "retry-after"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("proto"))).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def proj(srv):
    return srv.create_project("protocol")


# --- helpers -------------------------------------------------------------------------------------

def new_id():
    return uuid.uuid4().hex


def event(eid=None, **kw):
    ev = {"event_id": eid or new_id(), "level": "error", "platform": "python",
          "exception": {"values": [{"type": "ProtoError", "value": "protocol test",
                                    "stacktrace": {"frames": [{"module": "proto", "function": "send",
                                                               "lineno": 3, "in_app": True}]}}]}}
    ev.update(kw)
    return ev


def envelope(items, header=None):
    """items: [(item header dict, payload bytes)]; writes `length` when the header asks for it
    with length=True."""
    out = [json.dumps(header or {}).encode()]
    for h, payload in items:
        h = dict(h)
        if h.get("length") is True:
            h["length"] = len(payload)
        out.append(json.dumps(h).encode())
        out.append(payload)
    return b"\n".join(out) + b"\n"


def auth(p, **extra):
    h = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=proto/1.0, sentry_key={p['public_key']}"}
    h.update(extra)
    return h


def post(server, path, body, headers, conn=None):
    """POST over http.client (one connection unless given); returns (status, parsed body, headers)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = data
        return r.status, doc, {k.lower(): v for k, v in r.getheaders()}
    finally:
        if own:
            conn.close()


def stored(server, pid, eid):
    st, doc, _ = server.request("GET", f"/api/v1/projects/{pid}/events/{eid}")
    assert st in (200, 404), (st, doc)
    return doc if st == 200 else None


def event_count(server, pid):
    return server.api("GET", f"/api/v1/projects/{pid}/stats", expect=200)["events"]


def assert_detail(doc):
    assert isinstance(doc, dict) and isinstance(doc.get("detail"), str) and doc["detail"], doc


# --- HTTP ----------------------------------------------------------------------------------------

def test_healthz(srv):
    st, body, _ = srv.request("GET", "/healthz", token=None, raw=True)
    assert st == 200


def test_keep_alive_serves_several_requests_on_one_connection(srv, proj):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
    conn.connect()
    sock = conn.sock
    ids = []
    for i in range(5):
        ev = event()
        st, doc, h = post(srv, f"/api/{proj['id']}/store/", json.dumps(ev).encode(),
                          auth(proj, **{"Content-Type": "application/json"}), conn=conn)
        assert (st, doc) == (200, {"id": ev["event_id"]})
        assert h.get("connection", "").lower() != "close"
        ids.append(ev["event_id"])
    # an application-level 400 answers and keeps the connection
    st, doc, _ = post(srv, f"/api/{proj['id']}/store/", b"{bad json", auth(proj), conn=conn)
    assert st == 400
    assert_detail(doc)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    r.read()
    assert r.status == 200
    conn.request("GET", f"/api/v1/projects/{proj['id']}/stats", headers={"Authorization": "Bearer " + ADMIN_TOKEN})
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read())["events"] >= 5
    assert conn.sock is sock, "http.client had to reconnect: keep-alive not honoured"
    conn.close()
    for eid in ids:
        assert stored(srv, proj["id"], eid)["event_id"] == eid


def test_chunked_body(srv, proj):
    ev = event()
    raw = json.dumps(ev).encode()

    def chunks():
        for i in range(0, len(raw), 37):
            yield raw[i:i + 37]

    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
    conn.request("POST", f"/api/{proj['id']}/store/", body=chunks(), encode_chunked=True,
                 headers=auth(proj, **{"Transfer-Encoding": "chunked", "Content-Type": "application/json"}))
    r = conn.getresponse()
    assert (r.status, json.loads(r.read())) == (200, {"id": ev["event_id"]})
    # and a gzip envelope, chunked, on the same connection
    ev2 = event()
    env = gzip.compress(envelope([({"type": "event"}, json.dumps(ev2).encode())], {"event_id": ev2["event_id"]}))
    conn.request("POST", f"/api/{proj['id']}/envelope/", body=iter([env[:10], env[10:]]), encode_chunked=True,
                 headers=auth(proj, **{"Transfer-Encoding": "chunked", "Content-Encoding": "gzip"}))
    r = conn.getresponse()
    assert (r.status, json.loads(r.read())) == (200, {"id": ev2["event_id"]})
    conn.close()
    assert stored(srv, proj["id"], ev["event_id"])
    assert stored(srv, proj["id"], ev2["event_id"])


def _raw_deflate(b):
    c = zlib.compressobj(wbits=-15)
    return c.compress(b) + c.flush()


ENCODINGS = {
    "gzip": ("gzip", gzip.compress),
    "deflate-zlib": ("deflate", zlib.compress),
    "deflate-raw": ("deflate", _raw_deflate),
    "identity": ("identity", lambda b: b),
    "none": (None, lambda b: b),
}


@pytest.mark.parametrize("name", list(ENCODINGS))
@pytest.mark.parametrize("endpoint", ["store", "envelope"])
def test_content_encoding(srv, proj, name, endpoint):
    header, enc = ENCODINGS[name]
    ev = event(message=f"encoded {name} " + "x" * 2000)
    payload = json.dumps(ev).encode()
    if endpoint == "envelope":
        payload = envelope([({"type": "event", "length": True}, payload)], {"event_id": ev["event_id"]})
    h = auth(proj)
    if header:
        h["Content-Encoding"] = header
    st, doc, _ = post(srv, f"/api/{proj['id']}/{endpoint}/", enc(payload), h)
    assert (st, doc) == (200, {"id": ev["event_id"]})
    assert stored(srv, proj["id"], ev["event_id"])["message"] == ev["message"]


def test_unsupported_content_encoding_is_refused(srv, proj):
    ev = event()
    st, doc, _ = post(srv, f"/api/{proj['id']}/store/", json.dumps(ev).encode(),
                      auth(proj, **{"Content-Encoding": "br"}))
    assert st in (400, 415)
    assert_detail(doc)
    assert stored(srv, proj["id"], ev["event_id"]) is None


# --- auth ----------------------------------------------------------------------------------------

def test_every_way_of_passing_the_key(srv, proj):
    pid, key = proj["id"], proj["public_key"]
    cases = [
        ("store", "", {"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"}),
        ("store", "", {"X-Sentry-Auth": f"Sentry sentry_version=7,sentry_client=a/1,sentry_key={key}"}),
        ("store", "", {"X-Sentry-Auth": f"Sentry sentry_client=raven-python/6.0, sentry_timestamp=1700000000, sentry_key={key}, sentry_version=7"}),
        ("store", "", {"Authorization": f"Sentry sentry_key={key}, sentry_version=7"}),
        ("store", f"?sentry_version=7&sentry_key={key}", {}),
        ("envelope", f"?sentry_key={key}&sentry_version=7", {}),
        ("envelope", "", "dsn"),
    ]
    for endpoint, query, headers in cases:
        ev = event()
        if endpoint == "store":
            body = json.dumps(ev).encode()
        else:
            hdr = {"event_id": ev["event_id"]}
            if headers == "dsn":
                hdr["dsn"] = srv.dsn(proj)
                headers = {}
            body = envelope([({"type": "event"}, json.dumps(ev).encode())], hdr)
        st, doc, _ = post(srv, f"/api/{pid}/{endpoint}/{query}", body, headers)
        assert (st, doc) == (200, {"id": ev["event_id"]}), (endpoint, query, headers)
        assert stored(srv, pid, ev["event_id"])


def test_bad_keys_all_get_the_same_answer(srv, proj):
    other = srv.create_project("other")
    pid = proj["id"]
    answers = []

    def go(endpoint, query, headers, env_header=None):
        ev = event()
        body = json.dumps(ev).encode()
        if endpoint == "envelope":
            body = envelope([({"type": "event"}, body)], dict(env_header or {}, event_id=ev["event_id"]))
        st, doc, h = post(srv, f"/api/{pid}/{endpoint}/{query}", body, headers)
        answers.append((st, doc, h.get("x-sentry-error")))
        assert stored(srv, pid, ev["event_id"]) is None
        assert stored(srv, other["id"], ev["event_id"]) is None

    wrong = "0123456789abcdef0123456789abcdef"
    for endpoint in ("store", "envelope"):
        go(endpoint, "", {})                                                  # missing
        go(endpoint, "", {"X-Sentry-Auth": f"Sentry sentry_key={wrong}"})     # wrong
        go(endpoint, "", auth(other))                                         # other project's
        go(endpoint, f"?sentry_key={other['public_key']}", {})
        go(endpoint, "", {"Authorization": f"Sentry sentry_key={wrong}"})
        go(endpoint, "", {"X-Sentry-Auth": "Sentry sentry_version=7"})        # no key in header
    dsn_other = f"http://{other['public_key']}@127.0.0.1:{srv.port}/{pid}"
    dsn_wrong = f"http://{wrong}@127.0.0.1:{srv.port}/{pid}"
    dsn_otherproj = srv.dsn(other)  # a valid DSN, but of the other project
    go("envelope", "", {}, {"dsn": dsn_other})
    go("envelope", "", {}, {"dsn": dsn_wrong})
    go("envelope", "", {}, {"dsn": dsn_otherproj})
    go("envelope", "", {}, {"dsn": "not a dsn"})
    st, doc, err = answers[0]
    assert st in (401, 403)
    assert_detail(doc)
    for a in answers:
        assert a == answers[0], (answers.index(a), a, answers[0])
    # unknown project id: same answer too
    ev = event()
    st2, doc2, h2 = post(srv, "/api/987654/store/", json.dumps(ev).encode(), auth(proj))
    assert (st2, doc2, h2.get("x-sentry-error")) == answers[0]


# --- CORS ----------------------------------------------------------------------------------------

def _split(v):
    return {x.strip().lower() for x in (v or "").split(",") if x.strip()}


@pytest.mark.parametrize("endpoint", ["envelope", "store"])
def test_cors_preflight(srv, proj, endpoint):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
    conn.request("OPTIONS", f"/api/{proj['id']}/{endpoint}/?sentry_key={proj['public_key']}", headers={
        "Origin": "https://shop.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-sentry-auth",
    })
    r = conn.getresponse()
    r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    assert r.status in (200, 204)
    assert h["access-control-allow-origin"] == "*"
    assert "POST" in {m.strip().upper() for m in h["access-control-allow-methods"].split(",")}
    assert {"content-type", "x-sentry-auth"} <= _split(h["access-control-allow-headers"])


def test_cors_headers_on_post_answers(srv, proj):
    ev = event()
    cases = [
        (json.dumps(ev).encode(), auth(proj), 200),
        (b"{not json", auth(proj), 400),
        (json.dumps(event()).encode(), {"X-Sentry-Auth": "Sentry sentry_key=nopenopenope"}, None),
    ]
    for body, headers, want in cases:
        headers = dict(headers, Origin="https://shop.example.com")
        st, doc, h = post(srv, f"/api/{proj['id']}/store/", body, headers)
        if want:
            assert st == want, doc
        else:
            assert st in (401, 403)
        assert h.get("access-control-allow-origin") == "*", (st, h)
        assert EXPOSED <= _split(h.get("access-control-expose-headers")), (st, h)
    env = envelope([({"type": "event"}, json.dumps(event()).encode())])
    st, doc, h = post(srv, f"/api/{proj['id']}/envelope/", env, auth(proj))
    assert st == 200
    assert h.get("access-control-allow-origin") == "*"
    assert EXPOSED <= _split(h.get("access-control-expose-headers"))


# --- bad input -----------------------------------------------------------------------------------

def _bad_cases():
    eid = "bad0" + "0" * 24 + "%04d"
    n = iter(range(1000))

    def ev(**kw):
        e = event(eid % next(n))
        e.update(kw)
        return e

    def js(e):
        return json.dumps(e).encode()

    good_item = lambda e: ({"type": "event"}, js(e))  # noqa: E731
    cases = []
    e = ev()
    cases.append(("malformed-json", "store", js(e)[:-5], {}, e))
    e = ev()
    cases.append(("json-array", "store", b"[" + js(e) + b"]", {}, e))
    e = ev(exception=5)
    cases.append(("exception-number", "store", js(e), {}, e))
    e = ev(level=5)
    cases.append(("level-number", "store", js(e), {}, e))
    e = ev(fingerprint="abc")
    cases.append(("fingerprint-string", "store", js(e), {}, e))
    e = ev()
    e["exception"]["values"][0]["stacktrace"]["frames"] = "nope"
    cases.append(("frames-string", "store", js(e), {}, e))
    e = ev()
    e["exception"]["values"][0]["type"] = 7
    cases.append(("exception-type-number", "store", js(e), {}, e))
    e = ev(logentry={"message": 5})
    cases.append(("logentry-number", "store", js(e), {}, e))
    e = ev(timestamp="yesterday")
    cases.append(("timestamp-text", "store", js(e), {}, e))
    e = ev()
    cases.append(("corrupt-gzip", "store", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate",
                  {"Content-Encoding": "gzip"}, e))
    e = ev()
    cases.append(("truncated-gzip", "store", gzip.compress(js(e))[:-12], {"Content-Encoding": "gzip"}, e))
    e = ev()
    cases.append(("corrupt-deflate", "store", b"\x78\x9c" + b"\xff" * 40, {"Content-Encoding": "deflate"}, e))
    e = ev()
    cases.append(("gzip-not-gzip", "store", js(e), {"Content-Encoding": "gzip"}, e))
    e = ev()
    cases.append(("envelope-header-not-json", "envelope",
                  b"{nope\n" + json.dumps({"type": "event"}).encode() + b"\n" + js(e) + b"\n", {}, e))
    e = ev()
    cases.append(("item-header-not-json", "envelope",
                  json.dumps({"event_id": e["event_id"]}).encode() + b"\n{type: event}\n" + js(e) + b"\n", {}, e))
    e = ev()
    cases.append(("item-header-no-type", "envelope", envelope([({"length": True}, js(e))]), {}, e))
    e = ev()
    body = js(e)
    cases.append(("length-past-end", "envelope",
                  envelope([({"type": "event", "length": len(body) + 500}, body)]), {}, e))
    e = ev()
    cases.append(("length-not-number", "envelope",
                  envelope([({"type": "event", "length": "12"}, js(e))]), {}, e))
    e = ev()
    cases.append(("event-payload-malformed", "envelope",
                  envelope([({"type": "event", "length": True}, js(e)[:-3])]), {}, e))
    e = ev(exception=5)
    cases.append(("envelope-exception-number", "envelope", envelope([good_item(e)]), {}, e))
    e = ev()
    # a good event followed by a broken one: the whole envelope is refused, the good one too
    cases.append(("good-then-bad-item", "envelope",
                  envelope([good_item(e), ({"type": "transaction"}, b"{broken")]), {}, e))
    e = ev()
    cases.append(("bad-session", "envelope",
                  envelope([good_item(e), ({"type": "session"}, b'{"sid": 5, "attrs": {"release": "r"}}')]), {}, e))
    e = ev()
    cases.append(("bad-client-report", "envelope",
                  envelope([good_item(e), ({"type": "client_report"}, b'{"discarded_events": 3}')]), {}, e))
    e = ev()
    cases.append(("gzip-envelope-corrupt", "envelope", gzip.compress(envelope([good_item(e)]))[:30],
                  {"Content-Encoding": "gzip"}, e))
    return cases


BAD = _bad_cases()


@pytest.mark.parametrize("name,endpoint,body,headers,ev", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_a_400_and_stores_nothing(srv, proj, name, endpoint, body, headers, ev):
    before = event_count(srv, proj["id"])
    st, doc, h = post(srv, f"/api/{proj['id']}/{endpoint}/", body, auth(proj, **headers))
    assert st == 400, (st, doc)
    assert_detail(doc)
    assert h["content-type"].startswith("application/json")
    # the server still serves a good request, and nothing was stored for the bad one
    good = event()
    st, doc, _ = post(srv, f"/api/{proj['id']}/store/", json.dumps(good).encode(), auth(proj))
    assert (st, doc) == (200, {"id": good["event_id"]})
    assert stored(srv, proj["id"], ev["event_id"]) is None
    assert event_count(srv, proj["id"]) == before + 1


def test_broken_http_framing_is_a_400_and_the_server_carries_on(srv, proj):
    for raw in (
        b"POST /api/%d/store/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"POST /api/%d/store/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg",
        b"GARBAGE\r\n\r\n",
    ):
        if b"%d" in raw:
            raw = raw.replace(b"%d", str(proj["id"]).encode())
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(raw)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    good = event()
    st, doc, _ = post(srv, f"/api/{proj['id']}/store/", json.dumps(good).encode(), auth(proj))
    assert (st, doc) == (200, {"id": good["event_id"]})


def test_unknown_item_types_are_skipped(srv, proj):
    ev = event()
    items = [
        ({"type": "profile_chunk", "length": True}, b"\x00\x01binary\nwith newline"),
        ({"type": "statsd"}, b"not json at all"),
        ({"type": "event"}, json.dumps(ev).encode()),
        ({"type": "replay_recording", "length": True}, b"{}"),
        ({"type": "check_in"}, b'{"check_in_id": "x"}'),
    ]
    st, doc, _ = post(srv, f"/api/{proj['id']}/envelope/", envelope(items, {"event_id": ev["event_id"]}), auth(proj))
    assert (st, doc) == (200, {"id": ev["event_id"]})
    assert stored(srv, proj["id"], ev["event_id"])["event_id"] == ev["event_id"]
    # an envelope with only unknown items is fine too, and stores nothing
    before = event_count(srv, proj["id"])
    st, doc, _ = post(srv, f"/api/{proj['id']}/envelope/", envelope([({"type": "whatever"}, b"{}")]), auth(proj))
    assert st == 200 and isinstance(doc, dict), doc
    assert event_count(srv, proj["id"]) == before


def test_other_item_types_via_hand_made_envelopes(srv):
    p = srv.create_project("items")
    tid = new_id()
    items = [
        ({"type": "transaction"}, json.dumps({"event_id": tid, "type": "transaction", "transaction": "GET /",
                                              "timestamp": 1700000001.5, "start_timestamp": 1700000001.0}).encode()),
        ({"type": "session"}, json.dumps({"sid": new_id(), "status": "crashed", "errors": 1, "started": "2024-01-01T00:00:00Z",
                                          "timestamp": "2024-01-01T00:00:01Z", "attrs": {"release": "web@3", "environment": "prod"}}).encode()),
        ({"type": "sessions"}, json.dumps({"attrs": {"release": "web@3", "environment": "prod"},
                                           "aggregates": [{"started": "2024-01-01T00:00:00Z", "exited": 4, "errored": 2}]}).encode()),
        ({"type": "client_report"}, json.dumps({"timestamp": 1700000000, "discarded_events": [
            {"reason": "queue_overflow", "category": "error", "quantity": 3},
            {"reason": "ratelimit_backoff", "category": "transaction", "quantity": 2}]}).encode()),
        ({"type": "attachment", "filename": "log.txt", "content_type": "text/plain", "length": True}, b"line 1\nline 2\n"),
    ]
    st, doc, _ = post(srv, f"/api/{p['id']}/envelope/", envelope(items, {"event_id": tid}), auth(p))
    assert (st, doc) == (200, {"id": tid})
    s = srv.api("GET", f"/api/v1/projects/{p['id']}/stats", expect=200)
    assert s["transactions"] == 1 and s["attachments"] == 1 and s["events"] == 0
    assert s["dropped"] == [{"reason": "queue_overflow", "category": "error", "quantity": 3},
                            {"reason": "ratelimit_backoff", "category": "transaction", "quantity": 2}]
    assert s["releases"] == [{"release": "web@3", "environment": "prod", "total": 7, "healthy": 4,
                              "errored": 2, "crashed": 1, "abnormal": 0}]
    # the same transaction id again is not counted twice
    st, _, _ = post(srv, f"/api/{p['id']}/envelope/", envelope(items[:1]), auth(p))
    assert st == 200
    assert srv.api("GET", f"/api/v1/projects/{p['id']}/stats", expect=200)["transactions"] == 1


def test_retried_event_id_counts_once_raw(srv):
    p = srv.create_project("retry-raw")
    ev = event()
    for _ in range(3):
        st, doc, _ = post(srv, f"/api/{p['id']}/store/", json.dumps(ev).encode(), auth(p))
        assert (st, doc) == (200, {"id": ev["event_id"]})
    env = envelope([({"type": "event"}, json.dumps(ev).encode())], {"event_id": ev["event_id"]})
    for _ in range(2):
        st, doc, _ = post(srv, f"/api/{p['id']}/envelope/", env, auth(p))
        assert (st, doc) == (200, {"id": ev["event_id"]})
    # dashed form of the same id is the same event
    dashed = dict(ev, event_id=str(uuid.UUID(ev["event_id"])))
    st, doc, _ = post(srv, f"/api/{p['id']}/store/", json.dumps(dashed).encode(), auth(p))
    assert st == 200
    [issue] = srv.api("GET", f"/api/v1/projects/{p['id']}/issues", expect=200)["issues"]
    assert issue["count"] == 1
    assert event_count(srv, p["id"]) == 1


# --- durability ----------------------------------------------------------------------------------

def test_acknowledged_events_survive_kill_9(server_factory):
    s = server_factory()
    p = s.create_project("durable")
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=15)
    ids = []
    for i in range(60):
        ev = event(message=f"durable {i}")
        st, doc, _ = post(s, f"/api/{p['id']}/store/", json.dumps(ev).encode(), auth(p), conn=conn)
        assert (st, doc) == (200, {"id": ev["event_id"]})
        ids.append(ev["event_id"])
    s.kill()  # SIGKILL right after the last 200
    conn.close()
    s.start()
    for eid in ids:
        assert stored(s, p["id"], eid) is not None, eid
    assert event_count(s, p["id"]) == 60
    # the project and its key survived too: ingest still works after the restart
    ev = event()
    st, doc, _ = post(s, f"/api/{p['id']}/store/", json.dumps(ev).encode(), auth(p))
    assert (st, doc) == (200, {"id": ev["event_id"]})


# --- command line --------------------------------------------------------------------------------

def test_help_lists_flags_and_env_vars():
    r = subprocess.run([SLUICE_BIN, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    text = r.stdout + r.stderr
    for word in ("--listen", "--db", "--admin-token", "SLUICE_LISTEN", "SLUICE_DB", "SLUICE_ADMIN_TOKEN",
                 "127.0.0.1:9000", "--max-body-bytes"):
        assert word in text, word


@pytest.mark.parametrize("args,env,mention", [
    (["--no-such-flag"], {}, "--no-such-flag"),
    (["--listen", "nonsense"], {}, "listen"),
    (["--listen", "127.0.0.1:99999"], {}, "listen"),
    (["--max-body-bytes", "lots"], {}, "max-body-bytes"),
    (["--log-level", "chatty"], {}, "log-level"),
    (["--db"], {}, "db"),
    (["stray"], {}, "stray"),
    ([], {"SLUICE_MAX_BODY_BYTES": "lots"}, "SLUICE_MAX_BODY_BYTES"),
])
def test_bad_command_line_is_a_clear_error(tmp_path, args, env, mention):
    full = [SLUICE_BIN, "--admin-token", "t0k3n-for-cli-tests"]
    if "--listen" not in args:
        full += ["--listen", "127.0.0.1:1"]  # never reached: must fail before listening
    if "--db" not in args:
        full += ["--db", str(tmp_path / "x.db")]
    full += args
    e = dict(os.environ, **env)
    try:
        r = subprocess.run(full, capture_output=True, text=True, timeout=5, env=e)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sluice started with bad arguments {args} {env}")
    assert r.returncode != 0
    assert mention in r.stderr, r.stderr


# --- SDK captures --------------------------------------------------------------------------------

def _captures():
    out = []
    for sdk in sorted(os.listdir(CAPTURES)):
        d = os.path.join(CAPTURES, sdk)
        if not os.path.isdir(d):
            continue
        for n in sorted(f[:-5] for f in os.listdir(d) if f.endswith(".head")):
            out.append((sdk, n, os.path.join(d, n + ".head"), os.path.join(d, n + ".body")))
    return out


def _parse_envelope(buf):
    """(header, [(item header, payload)]) honouring `length`."""
    nl = buf.find(b"\n")
    header = json.loads(buf[:nl if nl >= 0 else len(buf)])
    pos, items = (nl + 1 if nl >= 0 else len(buf)), []
    while pos < len(buf):
        nl = buf.find(b"\n", pos)
        line = buf[pos:nl if nl >= 0 else len(buf)]
        pos = nl + 1 if nl >= 0 else len(buf)
        if not line.strip():
            continue
        ih = json.loads(line)
        if "length" in ih:
            payload = buf[pos:pos + ih["length"]]
            pos += ih["length"] + 1
        else:
            nl = buf.find(b"\n", pos)
            payload = buf[pos:nl if nl >= 0 else len(buf)]
            pos = nl + 1 if nl >= 0 else len(buf)
        items.append((ih, payload))
    return header, items


def _capture_event_ids(head, body):
    """Event ids the capture carries (for store: the event; for envelope: event items)."""
    if b"content-encoding: gzip" in head.lower():
        body = gzip.decompress(body)
    if b"/store/" in head.split(b"\n", 1)[0]:
        return [json.loads(body)["event_id"]]
    header, items = _parse_envelope(body)
    ids = []
    for ih, payload in items:
        if ih["type"] == "event":
            ids.append(json.loads(payload).get("event_id") or header["event_id"])
    return [i.replace("-", "") for i in ids]


def _replay(port, head, body):
    lines = [ln.rstrip(b"\r") for ln in head.split(b"\n")]  # the files may use LF or CRLF
    method, target, version = lines[0].decode().split(" ")
    assert version == "HTTP/1.1" and len(lines) > 2, lines[0]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for line in lines[1:]:
        if not line:
            continue
        k, v = line.decode().split(":", 1)
        if k.strip().lower() in ("content-length", "transfer-encoding"):
            continue
        if k.strip().lower() == "host":
            v = f"127.0.0.1:{port}"
        conn.putheader(k.strip(), v.strip())
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data) if data else None


def test_replay_every_sdk_capture(server):
    s = server
    s.api("POST", "/api/v1/projects", {"name": "py", "id": 7, "public_key": "abc123publickey"}, expect=201)
    s.api("POST", "/api/v1/projects", {"name": "node", "id": 8, "public_key": "def456publickey"}, expect=201)
    caps = _captures()
    assert len([c for c in caps if c[0].startswith("sentry-python")]) >= 9
    assert len([c for c in caps if c[0].startswith("sentry-node")]) >= 8
    ids = {}
    for sdk, n, hp, bp in caps:
        with open(hp, "rb") as f:
            head = f.read().rstrip(b"\r\n")
        with open(bp, "rb") as f:
            body = f.read()
        st, doc = _replay(s.port, head, body)
        assert st == 200, (sdk, n, st, doc)
        assert isinstance(doc, dict), (sdk, n, doc)
        evs = _capture_event_ids(head, body)
        if evs:
            assert doc == {"id": evs[0]}, (sdk, n, doc)
        ids[(sdk.split("-")[1], n)] = evs

    def issue_of(pid, key):
        [eid] = ids[key]
        e = stored(s, pid, eid)
        assert e is not None, key
        return e["issue_id"]

    # every event in every capture is stored
    for (sdk, n), evs in ids.items():
        for eid in evs:
            assert stored(s, 7 if sdk == "python" else 8, eid) is not None, (sdk, n)

    # python 04/05: same failure from the same place with different numbers → one issue, count 2
    i4, i5, i6 = issue_of(7, ("python", "04")), issue_of(7, ("python", "05")), issue_of(7, ("python", "06"))
    assert i4 == i5
    assert s.api("GET", f"/api/v1/issues/{i4}", expect=200)["count"] == 2
    # python 06: fingerprint ["payment-gateway", "{{ default }}"] → its own issue
    assert i6 != i4
    assert s.api("GET", f"/api/v1/issues/{i6}", expect=200)["count"] == 1
    d = s.api("GET", f"/api/v1/issues/{i4}", expect=200)
    assert d["title"].startswith("PaymentError: gateway timeout for order 10")
    assert d["culprit"] == "__main__ in pay"
    assert d["first_release"] == "shop@1.4.2"
    # python 07 (logging template) and 01/08 (two KeyErrors from different places): distinct
    others = {issue_of(7, ("python", k)) for k in ("01", "07", "08")}
    assert len(others) == 3 and not others & {i4, i6}

    # node 05/07: same OrderError from the same place → one issue, count 2
    n5, n7 = issue_of(8, ("node", "05")), issue_of(8, ("node", "07"))
    assert n5 == n7
    nd = s.api("GET", f"/api/v1/issues/{n5}", expect=200)
    assert nd["count"] == 2
    assert nd["title"].startswith("OrderError: card declined for order 1")
    # node 06 is the > 32 KiB gzip event: stored whole
    [big] = ids[("node", "06")]
    e = stored(s, 8, big)
    assert e["exception"]["values"][0]["value"].startswith("big xxxx")

    # other item types of the captures
    st7 = s.api("GET", "/api/v1/projects/7/stats", expect=200)
    assert st7["transactions"] == 1 and st7["attachments"] == 1
    st8 = s.api("GET", "/api/v1/projects/8/stats", expect=200)
    assert {r["release"] for r in st8["releases"]} == {"api@2.0.0"}
    assert sum(r["total"] for r in st8["releases"]) == 2

    # replaying everything again (SDK retries) changes no count
    before = [s.api("GET", f"/api/v1/projects/{pid}/stats", expect=200)["events"] for pid in (7, 8)]
    for sdk, n, hp, bp in caps:
        with open(hp, "rb") as f:
            head = f.read().rstrip(b"\r\n")
        with open(bp, "rb") as f:
            body = f.read()
        assert _replay(s.port, head, body)[0] == 200
    after = [s.api("GET", f"/api/v1/projects/{pid}/stats", expect=200)["events"] for pid in (7, 8)]
    assert after == before
    assert s.api("GET", f"/api/v1/issues/{i4}", expect=200)["count"] == 2


def test_head_has_the_get_length_and_no_body(server):
    """HEAD answers carry the Content-Length a GET would get, and no body: the next pipelined
    request on the same connection is read correctly."""
    get = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    get.request("GET", "/app.js")
    body = get.getresponse().read()
    get.close()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert f"content-length: {len(body)}".encode() in head.lower()
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
    assert rest.endswith(b'{"status":"ok"}')


def test_issue_shows_its_latest_event_by_event_time(server):
    """Events of one issue may arrive out of order (SDKs send concurrently); the issue's title,
    level and last release follow the event that happened last, not the one that arrived last."""
    p = server.create_project("order")
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={p['public_key']}, sentry_version=7"}
    now = time.time()
    later = {"event_id": uuid.uuid4().hex, "timestamp": now - 10, "level": "fatal",
             "release": "app@2", "fingerprint": ["same-group"], "message": "second thing"}
    earlier = {"event_id": uuid.uuid4().hex, "timestamp": now - 60, "level": "warning",
               "release": "app@1", "fingerprint": ["same-group"], "message": "first thing"}
    for ev in (later, earlier):  # the later one arrives first
        st, doc, _ = server.request("POST", f"/api/{p['id']}/store/", ev, headers=auth, token=None)
        assert st == 200, (st, doc)
    issues = server.api("GET", f"/api/v1/projects/{p['id']}/issues?status=all")["issues"]
    assert len(issues) == 1
    it = issues[0]
    assert it["count"] == 2
    assert it["title"] == "second thing" and it["level"] == "fatal", it
    assert it["first_release"] == "app@2" or it["first_release"] == "app@1"
    assert it["last_release"] == "app@2", it
