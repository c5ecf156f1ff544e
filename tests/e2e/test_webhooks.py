"""Webhooks: alerts reach Slack-like and generic receivers through the durable outbox. Local
receivers (http.server on 127.0.0.1) check the payload shape, the Standard Webhooks signature
(verified here independently), retries after 5xx, Retry-After, 410, 3xx, delivery across
kill -9 and SIGTERM without duplicates, the digest under a storm, the throttle, the SSRF guard
(at creation and at every attempt), the failing state in the webhooks list and the deliveries
log. The server refuses private receivers unless started with --allow-private-webhooks, which
every test that delivers to a local receiver passes (FAST)."""
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

FAST = ("--allow-private-webhooks", "--webhook-retry-base-ms", "100",
        "--webhook-digest-window-ms", "1500")


class Receiver:
    """An HTTP endpoint that records every POST. `script` is a list of (status, headers)
    answered in order; once it is empty every request gets 200."""

    def __init__(self, port=0):
        self.requests = []
        self.script = []
        self.lock = threading.Lock()
        self.port = port
        self.httpd = None
        self.start()

    def start(self):
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with rec.lock:
                    rec.requests.append({"t": time.time(), "headers": dict(self.headers),
                                         "body": body, "path": self.path})
                    status, extra = rec.script.pop(0) if rec.script else (200, {})
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def count(self):
        with self.lock:
            return len(self.requests)

    def bodies(self):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def send_issue(s, project, name, message="boom"):
    """Stores an event whose exception type makes it a distinct issue (fires new_issue)."""
    body = {"event_id": uuid.uuid4().hex, "level": "error", "release": "shop@1.2.3",
            "environment": "production", "platform": "python",
            "exception": {"values": [{"type": name, "value": message, "stacktrace": {"frames": [
                {"function": "handle", "module": "shop.views", "filename": "shop/views.py",
                 "lineno": 42, "in_app": True}]}}]}}
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={project['public_key']}, sentry_version=7",
               "Content-Type": "application/json"}
    st, doc, _ = s.request("POST", f"/api/{project['id']}/store/", body=json.dumps(body).encode(),
                           headers=headers, token=None)
    assert st == 200, (st, doc)
    return body


def add_hook(s, project, url, kind="generic", events=None, **extra):
    body = {"url": url, "kind": kind,
            "events": events or ["new_issue", "regression", "memory_leak", "memory_leak_resolved"]}
    body.update(extra)
    return s.api("POST", f"/api/v1/projects/{project['id']}/webhooks", body, expect=201)


def deliveries(s, hook):
    return s.api("GET", f"/api/v1/webhooks/{hook['id']}/deliveries", expect=200)["deliveries"]


def verify(secret, headers, body):
    """Standard Webhooks verification, written from the spec."""
    key = base64.b64decode(secret[len("whsec_"):])
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    signed = f"{msg_id}.{ts}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    sigs = [p.split(",", 1)[1] for p in headers["webhook-signature"].split(" ") if p.startswith("v1,")]
    return any(hmac.compare_digest(expected, s) for s in sigs)


def check_slack(msg):
    assert isinstance(msg["text"], str) and msg["text"]
    blocks = msg["blocks"]
    assert 1 <= len(blocks) <= 50
    for b in blocks:
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "section" and "fields" in b:
            assert len(b["fields"]) <= 10
            assert all(len(f["text"]) <= 2000 for f in b["fields"])
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150
    return json.dumps(msg)


# --- API -------------------------------------------------------------------------------------

def test_api_validation_and_lifecycle(server_factory):
    s = server_factory(*FAST)
    p = s.create_project("api")
    base = f"/api/v1/projects/{p['id']}/webhooks"
    for bad in ["ftp://example.com/x", "not a url", "http://", "http://exa mple.com/",
                "javascript:alert(1)", "", 5, "https://" + "a" * 3000 + ".com/"]:
        st, doc, _ = s.request("POST", base, {"url": bad, "kind": "slack"})
        assert st == 400 and "detail" in doc, (bad, st, doc)
    for body in [{"url": "https://hooks.example.com/x", "kind": "teams"},
                 {"url": "https://hooks.example.com/x", "kind": "slack", "events": ["nope"]},
                 {"url": "https://hooks.example.com/x", "kind": "slack", "events": []},
                 {"url": "https://hooks.example.com/x", "kind": "generic", "secret": "abc"},
                 {"url": "https://hooks.example.com/x", "kind": "generic",
                  "secret": "whsec_" + base64.b64encode(b"short").decode()},
                 {"url": "https://hooks.example.com/x", "kind": "generic", "secret": "whsec_!!!!"}]:
        st, doc, _ = s.request("POST", base, body)
        assert st == 400 and "detail" in doc, (body, st, doc)
    st, _, _ = s.request("POST", base, {"url": "https://x.example.com", "kind": "slack"}, token="wrong")
    assert st == 401
    st, _, _ = s.request("POST", "/api/v1/projects/999/webhooks",
                         {"url": "https://x.example.com", "kind": "slack"})
    assert st == 404

    slack = add_hook(s, p, "https://hooks.slack.example.com/services/T0/B0/XYZ", "slack",
                     ["new_issue"])
    assert slack["kind"] == "slack" and slack["events"] == ["new_issue"] and "secret" not in slack
    gen = add_hook(s, p, "https://example.com/hook?x=1")
    assert gen["secret"].startswith("whsec_")
    assert len(base64.b64decode(gen["secret"][6:])) >= 24
    mine = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    gen2 = add_hook(s, p, "http://[2001:db8::1]:8080/h", secret=mine)
    assert gen2["secret"] == mine

    listed = s.api("GET", base, expect=200)["webhooks"]
    assert [w["id"] for w in listed] == [slack["id"], gen["id"], gen2["id"]]
    assert all("secret" not in w for w in listed)
    assert listed[0]["events"] == ["new_issue"] and listed[0]["disabled"] is False

    st, _, _ = s.request("DELETE", f"/api/v1/webhooks/{gen['id']}")
    assert st == 204
    st, _, _ = s.request("DELETE", f"/api/v1/webhooks/{gen['id']}")
    assert st == 404
    st, _, _ = s.request("GET", f"/api/v1/webhooks/{gen['id']}/deliveries")
    assert st == 404
    st, _, _ = s.request("POST", f"/api/v1/webhooks/{gen['id']}/test")
    assert st == 404
    assert len(s.api("GET", base, expect=200)["webhooks"]) == 2


# --- payloads --------------------------------------------------------------------------------

def test_generic_payload_and_signature(server_factory, receiver):
    s = server_factory(*FAST, "--public-url", "https://sluice.example.com/")
    p = s.create_project("signed")
    hook = add_hook(s, p, receiver.url)
    send_issue(s, p, "PaymentError", "card declined")
    s.wait_for(lambda: receiver.count() >= 1)
    r = receiver.requests[0]
    h = {k.lower(): v for k, v in r["headers"].items()}
    assert h["content-type"] == "application/json"
    assert h["webhook-id"].startswith("msg_")
    assert abs(int(h["webhook-timestamp"]) - time.time()) < 60
    assert verify(hook["secret"], h, r["body"])
    assert not verify(hook["secret"], h, r["body"] + b" ")
    msg = json.loads(r["body"])
    assert set(msg) == {"type", "id", "timestamp", "data"}
    assert msg["type"] == "new_issue" and msg["id"] == h["webhook-id"]
    assert msg["timestamp"].endswith("Z")
    d = msg["data"]
    assert "PaymentError" in d["title"] and d["project_id"] == p["id"]
    assert d["level"] == "error" and d["release"] == "shop@1.2.3" and d["count"] == 1
    assert d["url"] == f"https://sluice.example.com/#/issues/{d['issue_id']}"

    # A resolved issue that comes back: "regression".
    s.api("PATCH", f"/api/v1/issues/{d['issue_id']}", {"status": "resolved"}, expect=200)
    send_issue(s, p, "PaymentError", "card declined")
    s.wait_for(lambda: receiver.count() >= 2)
    reg = json.loads(receiver.requests[1]["body"])
    assert reg["type"] == "regression" and reg["data"]["issue_id"] == d["issue_id"]
    h2 = {k.lower(): v for k, v in receiver.requests[1]["headers"].items()}
    assert verify(hook["secret"], h2, receiver.requests[1]["body"])

    # The test endpoint goes through the same pipeline.
    st, doc, _ = s.request("POST", f"/api/v1/webhooks/{hook['id']}/test")
    assert st == 202 and doc["message_id"].startswith("msg_")
    s.wait_for(lambda: receiver.count() >= 3, timeout=15)
    t = json.loads(receiver.requests[2]["body"])
    assert t["type"] == "test" and t["id"] == doc["message_id"]


def test_slack_payload(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("chat")
    add_hook(s, p, receiver.url, "slack", ["new_issue"])
    long_message = "x" * 6000
    send_issue(s, p, "Very" + "Long" * 2000 + "Error", long_message)
    s.wait_for(lambda: receiver.count() >= 1)
    msg = receiver.bodies()[0]
    check_slack(msg)
    assert msg["text"].startswith("New issue:")
    assert any(b["type"] == "header" for b in msg["blocks"])
    assert "#/issues/" in json.dumps(msg)
    h = {k.lower(): v for k, v in receiver.requests[0]["headers"].items()}
    assert "webhook-signature" not in h


# --- delivery guarantees -----------------------------------------------------------------------

def test_retry_after_500s_then_no_duplicate(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("flaky")
    hook = add_hook(s, p, receiver.url)
    receiver.script = [(500, {}), (500, {})]
    send_issue(s, p, "FlakyError")
    s.wait_for(lambda: receiver.count() >= 3, timeout=20)
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1, "the same message id on every retry"
    for r in receiver.requests:
        h = {k.lower(): v for k, v in r["headers"].items()}
        assert verify(hook["secret"], h, r["body"])

    def delivered():
        rows = deliveries(s, hook)
        return rows if rows and rows[0]["status"] == "delivered" else None
    rows = s.wait_for(delivered)
    assert len(rows) == 1
    row = rows[0]
    assert row["attempts"] == 3 and row["response_code"] == 200 and row["delivered_at"]
    log = row["log"]
    assert [a["response_code"] for a in log] == [200, 500, 500]
    assert [a["outcome"] for a in log] == ["delivered", "retry", "retry"]
    assert log[1]["error"].startswith("HTTP 500") and log[1]["next_attempt_at"]
    assert all(a["at"] for a in log)
    time.sleep(2.5)
    assert receiver.count() == 3, "nothing is sent again after a 2xx"


def test_429_retry_after_is_honoured(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("limited")
    hook = add_hook(s, p, receiver.url, "slack")
    receiver.script = [(429, {"Retry-After": "3"})]
    send_issue(s, p, "RateLimitedError")
    s.wait_for(lambda: receiver.count() >= 2, timeout=20)
    gap = receiver.requests[1]["t"] - receiver.requests[0]["t"]
    assert gap >= 2.8, gap  # the 100 ms backoff would have retried much sooner
    log = s.wait_for(lambda: [r for r in deliveries(s, hook) if r["status"] == "delivered"])[0]["log"]
    assert log[-1]["outcome"] == "retry_after" and log[-1]["response_code"] == 429


def test_410_disables_the_webhook(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("gone")
    hook = add_hook(s, p, receiver.url)
    receiver.script = [(410, {})]
    send_issue(s, p, "GoneError")
    s.wait_for(lambda: receiver.count() >= 1)

    def disabled():
        w = s.api("GET", f"/api/v1/projects/{p['id']}/webhooks", expect=200)["webhooks"][0]
        return w if w["disabled"] else None
    w = s.wait_for(disabled)
    assert "410" in w["disabled_reason"]
    assert w["failing"] is True and w["last_outcome"] == "gone" and "410" in w["last_error"]
    row = deliveries(s, hook)[0]
    assert row["status"] == "failed" and row["response_code"] == 410
    assert row["log"][0]["outcome"] == "gone"
    send_issue(s, p, "AnotherError")
    time.sleep(2.5)
    assert receiver.count() == 1
    st, _, _ = s.request("POST", f"/api/v1/webhooks/{hook['id']}/test")
    assert st == 409


def test_redirect_is_a_failure(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("moved")
    other = Receiver()
    try:
        hook = add_hook(s, p, receiver.url, "slack")
        receiver.script = [(302, {"Location": other.url}), (301, {"Location": other.url})]
        send_issue(s, p, "MovedError")
        s.wait_for(lambda: receiver.count() >= 3, timeout=20)
        assert other.count() == 0, "redirects are not followed"
        row = s.wait_for(lambda: [r for r in deliveries(s, hook) if r["status"] == "delivered"])[0]
        assert [a["response_code"] for a in row["log"]] == [200, 301, 302]
        assert "redirect" in row["log"][-1]["error"]
    finally:
        other.stop()


def webhook_row(s, project, hook):
    rows = s.api("GET", f"/api/v1/projects/{project['id']}/webhooks", expect=200)["webhooks"]
    return [w for w in rows if w["id"] == hook["id"]][0]


def test_creation_refuses_private_hosts(server_factory):
    s = server_factory()  # no --allow-private-webhooks
    p = s.create_project("creation")
    base = f"/api/v1/projects/{p['id']}/webhooks"
    for url in ["http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/h",
                "http://0.0.0.0/h", "http://10.1.2.3/h", "http://192.168.1.1/h",
                "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/h",
                "http://[2001:db8::1]:8080/h", "http://2130706433/h", "http://0x7f.1/h",
                "https://localhost/hook", "http://LOCALHOST:9/hook"]:
        st, doc, _ = s.request("POST", base, {"url": url, "kind": "slack"})
        assert st == 400, (url, st, doc)
        assert "--allow-private-webhooks" in doc["detail"] and doc["detail"].startswith("url: "), doc
    st, doc, _ = s.request("POST", base, {"url": "http://127.0.0.1/h", "kind": "slack"})
    assert "127.0.0.1 is a private, loopback" in doc["detail"], doc
    st, doc, _ = s.request("POST", base, {"url": "http://localhost/h", "kind": "slack"})
    assert "localhost resolves only to" in doc["detail"] and "127.0.0.1" in doc["detail"], doc
    assert s.api("GET", base, expect=200)["webhooks"] == []

    # a public address is accepted as before; a name that does not resolve now, with a warning
    public = add_hook(s, p, "http://93.184.215.14:8080/hook", "slack")
    assert "warning" not in public
    unresolved = add_hook(s, p, "https://does-not-exist.invalid/hook")
    assert "does-not-exist.invalid does not resolve" in unresolved["warning"], unresolved
    assert unresolved["secret"].startswith("whsec_")
    assert [w["id"] for w in s.api("GET", base, expect=200)["webhooks"]] == [public["id"],
                                                                             unresolved["id"]]

    # --allow-private-webhooks: everything is accepted, as before
    s2 = server_factory("--allow-private-webhooks")
    p2 = s2.create_project("open")
    for url in ["http://127.0.0.1:8080/hook", "http://localhost/h", "http://[fe80::1]/h"]:
        hook = add_hook(s2, p2, url, "slack")
        assert "warning" not in hook


def test_ssrf_guard_refuses_private_addresses_at_every_attempt(server_factory, receiver):
    # Created while private receivers were allowed, sent after a restart without the flag: the
    # guard at connect time (after DNS, so rebinding does not get around it) still refuses.
    s = server_factory("--allow-private-webhooks", "--webhook-retry-base-ms", "100")
    p = s.create_project("guarded")
    hooks = [add_hook(s, p, url, "slack") for url in (
        receiver.url, f"http://[::ffff:127.0.0.1]:{receiver.port}/hook",
        f"http://0.0.0.0:{receiver.port}/hook", f"http://localhost:{receiver.port}/hook")]
    s.stop()
    s.extra_args = ["--webhook-retry-base-ms", "100"]
    s.start()
    send_issue(s, p, "SsrfError")
    for hook in hooks:
        rows = s.wait_for(lambda: [r for r in deliveries(s, hook) if r["log"]], timeout=15)
        a = rows[0]["log"][-1]
        assert a["outcome"] == "refused", a
        assert a["response_code"] is None and "refused" in a["error"]
        assert rows[0]["status"] in ("pending", "sending", "failed")
        # three refusals in a row: the webhook shows as failing, with the reason
        w = s.wait_for(lambda: (lambda w: w if w["failing"] else None)(webhook_row(s, p, hook)),
                       timeout=15)
        assert "refused" in w["last_error"] and w["last_outcome"] == "refused", w
        assert w["last_attempt_at"].endswith("Z") and w["disabled"] is False
    time.sleep(1)
    assert receiver.count() == 0


def test_failing_state_in_the_webhooks_list(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("health")
    hook = add_hook(s, p, receiver.url)
    w = webhook_row(s, p, hook)
    assert w["failing"] is False and w["last_error"] is None
    assert w["last_attempt_at"] is None and w["last_outcome"] is None

    # one failed attempt is not yet "failing"; three in a row are
    receiver.script = [(500, {}), (500, {}), (500, {})]
    send_issue(s, p, "HealthError")
    s.wait_for(lambda: receiver.count() >= 1)
    s.wait_for(lambda: webhook_row(s, p, hook)["last_outcome"] == "retry")
    if receiver.count() == 1:
        assert webhook_row(s, p, hook)["failing"] is False
    w = s.wait_for(lambda: (lambda w: w if w["failing"] else None)(webhook_row(s, p, hook)),
                   timeout=10)
    assert w["last_error"].startswith("HTTP 500") and w["last_outcome"] == "retry", w
    assert receiver.count() == 3

    # the retry goes through: healthy again
    w = s.wait_for(lambda: (lambda w: w if w["last_outcome"] == "delivered" else None)(
        webhook_row(s, p, hook)), timeout=15)
    assert w["failing"] is False and w["last_error"] is None and w["last_attempt_at"]


def test_delivery_survives_kill9_exactly_once(server_factory):
    recv = Receiver()
    port = recv.port
    recv.stop()  # the receiver is down while the alert fires
    s = server_factory(*FAST)
    p = s.create_project("durable")
    hook = add_hook(s, p, f"http://127.0.0.1:{port}/hook")
    send_issue(s, p, "DurableError")
    s.wait_for(lambda: [r for r in deliveries(s, hook) if r["attempts"] >= 1])
    s.kill()
    s.start()
    recv = Receiver(port)
    try:
        s.wait_for(lambda: recv.count() >= 1, timeout=20)
        s.wait_for(lambda: deliveries(s, hook)[0]["status"] == "delivered")
        msg = recv.bodies()[0]
        assert msg["type"] == "new_issue" and "DurableError" in msg["data"]["title"]
        s.kill()  # after the 2xx was recorded, a restart must not send it again
        s.start()
        time.sleep(3)
        assert recv.count() == 1
        assert deliveries(s, hook)[0]["status"] == "delivered"
    finally:
        recv.stop()


def test_sigterm_keeps_pending_deliveries(server_factory):
    recv = Receiver()
    port = recv.port
    recv.stop()
    s = server_factory(*FAST)
    p = s.create_project("graceful")
    hook = add_hook(s, p, f"http://127.0.0.1:{port}/hook", "slack")
    send_issue(s, p, "GracefulError")
    s.wait_for(lambda: [r for r in deliveries(s, hook) if r["attempts"] >= 1])
    assert s.stop() == 0
    recv = Receiver(port)
    try:
        s.start()
        s.wait_for(lambda: recv.count() >= 1, timeout=20)
        time.sleep(2)
        assert recv.count() == 1
        check_slack(recv.bodies()[0])
    finally:
        recv.stop()


# --- storms ------------------------------------------------------------------------------------

def test_storm_is_digested(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("storm")
    hook = add_hook(s, p, receiver.url, "slack", ["new_issue"])
    names = [f"StormError{i:02d}" for i in range(30)]
    for n in names:
        send_issue(s, p, n)

    def all_mentioned():
        text = " ".join(json.dumps(m) for m in receiver.bodies())
        return all(n in text for n in names)
    s.wait_for(all_mentioned, timeout=20)
    time.sleep(2)
    msgs = receiver.bodies()
    assert len(msgs) <= 4, len(msgs)
    for m in msgs:
        check_slack(m)
    assert any("new issues" in m["text"] for m in msgs)
    rows = deliveries(s, hook)
    assert any(r["event"] == "new_issue_digest" and r["status"] == "delivered" for r in rows)
    assert sum(r["status"] == "digested" for r in rows) >= 20


def test_throttle_queues_bursts(server_factory, receiver):
    s = server_factory(*FAST)
    p = s.create_project("burst")
    hook = add_hook(s, p, receiver.url)
    ids = [s.api("POST", f"/api/v1/webhooks/{hook['id']}/test", expect=202)["message_id"]
           for _ in range(5)]
    s.wait_for(lambda: receiver.count() >= 5, timeout=20)
    got = [m["id"] for m in receiver.bodies()]
    assert sorted(got) == sorted(ids), "bursts queue, nothing is dropped"
    times = [r["t"] for r in receiver.requests]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.7, gaps  # about one message a second per webhook
