"""The legacy raven clients, run for real against a running sluice: raven-go (Debian's
golang-github-getsentry-raven-go-dev, built here in GOPATH mode with Debian's golang-go, no
module downloads), the sentry-raven gem (Debian's ruby-sentry-raven) and raven-node 2.6 (npm
`raven`, from tests/package.json). With their default settings they post /store/ bodies as
base64(zlib(JSON)) with Content-Type application/octet-stream and no Content-Encoding, and
authenticate with a legacy DSN carrying a secret (X-Sentry-Auth with sentry_secret).

Each client talks to a small recording proxy in front of the server, so a test sees both that
the client really sent the legacy form and that sluice stored and grouped the events (checked
through the management API). The programs live in tests/e2e/sdk/raven_*."""
import base64
import http.client
import http.server
import json
import os
import shutil
import subprocess
import threading
import urllib.parse
import zlib

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(HERE, "sdk")
DEBIAN_GOPATH = "/usr/share/gocode"  # where Debian's golang-*-dev packages put their sources


class Recorder:
    """An HTTP proxy on a free loopback port that forwards every POST to the sluice server
    unchanged and records (path, headers, body, status, response) for the test."""

    def __init__(self, server):
        self.requests = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fwd = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "connection", "content-length")}
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.request("POST", self.path, body=body, headers=fwd)
                resp = conn.getresponse()
                payload = resp.read()
                conn.close()
                rec.requests.append({"path": self.path, "headers": dict(self.headers),
                                     "body": body, "status": resp.status, "response": payload})
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.getheader("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def recorder(server):
    r = Recorder(server)
    yield r
    r.close()


def legacy_dsn(recorder, project):
    """The old DSN form with a secret, pointing at the recording proxy."""
    return f"http://{project['public_key']}:legacysecret@127.0.0.1:{recorder.port}/{project['id']}"


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert r.returncode == 0, (cmd, r.stdout, r.stderr)
    return r


def issues(server, pid):
    doc = server.api("GET", f"/api/v1/projects/{pid}/issues?status=all&limit=100", expect=200)
    return doc["issues"]


def wait_issues(server, pid, n_events):
    """Waits until the project's issues add up to n_events events; returns them by title."""
    def ready():
        got = issues(server, pid)
        return got if sum(i["count"] for i in got) == n_events else None
    return {i["title"]: i for i in server.wait_for(ready)}


def check_legacy_requests(recorder, project, client, min_legacy=1):
    """Every request was a 200 on /store/ with a secret in X-Sentry-Auth; at least min_legacy of
    them were base64(zlib(JSON)) octet-streams without Content-Encoding, decoding to an event."""
    assert recorder.requests, "the client sent nothing"
    legacy = 0
    for r in recorder.requests:
        h = {k.lower(): v for k, v in r["headers"].items()}
        assert r["path"] == f"/api/{project['id']}/store/", r["path"]
        assert r["status"] == 200, (r["status"], r["response"])
        auth = h["x-sentry-auth"]
        assert auth.startswith("Sentry ") and "sentry_secret=legacysecret" in auth, auth
        assert f"sentry_key={project['public_key']}" in auth, auth
        if client:
            assert client in auth or client in h.get("user-agent", ""), h
        if h.get("content-type") != "application/octet-stream":
            continue
        assert "content-encoding" not in h, h
        assert not r["body"].lstrip().startswith(b"{")
        event = json.loads(zlib.decompress(base64.b64decode(r["body"], validate=True)))
        assert json.loads(r["response"])["id"] == event["event_id"].replace("-", "")
        legacy += 1
    assert legacy >= min_legacy, [r["headers"] for r in recorder.requests]
    return legacy


def test_raven_go(server, recorder, tmp_path):
    """raven-go: the error (over 1000 bytes of JSON) goes as base64(zlib(JSON)); the short
    message as plain JSON. Both are stored."""
    assert os.path.isdir(os.path.join(DEBIAN_GOPATH, "src/github.com/getsentry/raven-go"))
    src = tmp_path / "gopath/src/ravengo"
    src.mkdir(parents=True)
    shutil.copy(os.path.join(SDK, "raven_go/main.go"), src / "main.go")
    env = dict(os.environ, GO111MODULE="off", GOPATH=f"{tmp_path}/gopath:{DEBIAN_GOPATH}",
               GOCACHE=str(tmp_path / "gocache"), GOFLAGS="", GOPROXY="off",
               HOME=str(tmp_path))
    exe = str(tmp_path / "raven_go")
    run(["go", "build", "-o", exe, "."], cwd=str(src), env=env)

    p = server.create_project("raven-go")
    env.pop("SENTRY_DSN", None)
    run([exe, legacy_dsn(recorder, p)], env=env)
    assert len(recorder.requests) == 2
    check_legacy_requests(recorder, p, "raven-go/", min_legacy=1)
    by_title = wait_issues(server, p["id"], 2)
    err_title = "*errors.errorString: raven-go legacy failure: cannot parse app.toml"
    assert set(by_title) == {err_title, "raven-go legacy message"}, by_title
    assert by_title[err_title]["culprit"] == "main in main", by_title[err_title]


@pytest.mark.parametrize("name,cmd,client,err_title,frame", [
    # the sentry-raven gem: synchronous by default, encoding 'gzip' = base64(zlib(JSON))
    ("raven-ruby", ["ruby", "raven_ruby/send.rb"], "raven-ruby/3.",
     "ArgumentError: raven-ruby legacy failure: cannot parse app.yml", "parse_config"),
    # raven-node 2.6 with its defaults
    ("raven-node", ["node", "raven_node/send.js"], "raven-node/2.6.",
     "TypeError: raven-node legacy failure: cannot parse app.json", "parseConfig"),
])
def test_raven_ruby_and_node(server, recorder, name, cmd, client, err_title, frame):
    """Both events (an exception and a message) go as base64(zlib(JSON)) and are grouped."""
    p = server.create_project(name)
    env = dict(os.environ)
    env.pop("SENTRY_DSN", None)
    run([cmd[0], os.path.join(SDK, cmd[1]), legacy_dsn(recorder, p)], env=env)
    assert len(recorder.requests) == 2
    assert check_legacy_requests(recorder, p, client) == 2
    by_title = wait_issues(server, p["id"], 2)
    assert set(by_title) == {err_title, f"{name} legacy message"}, by_title
    assert frame in (by_title[err_title].get("culprit") or ""), by_title[err_title]


def post_store(server, project, body, content_type="application/octet-stream"):
    """Posts body to /store/ the way the raven clients do; returns (status, JSON document)."""
    auth = (f"Sentry sentry_version=5, sentry_client=raven-node/2.6.4, sentry_timestamp=1, "
            f"sentry_key={project['public_key']}, sentry_secret=legacysecret")
    st, doc, _ = server.request("POST", f"/api/{project['id']}/store/", body, token=None,
                                headers={"Content-Type": content_type, "X-Sentry-Auth": auth})
    return st, doc


def legacy_body(event, wbits=zlib.MAX_WBITS):
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return base64.b64encode(z.compress(json.dumps(event).encode()) + z.flush())


def test_legacy_forms_errors_and_bounds(server_factory):
    """zlib, raw deflate, gzip and plain JSON inside base64 are all stored; bad base64 or a bad
    stream is a 400 saying so; the inflated size is bound by --max-decoded-bytes while
    inflating and the base64 text by --max-body-bytes."""
    s = server_factory("--max-body-bytes", "65536", "--max-decoded-bytes", "262144")
    p = s.create_project("legacy-forms")
    sent = []
    forms = {"zlib": zlib.MAX_WBITS, "raw": -zlib.MAX_WBITS, "gzip": 16 + zlib.MAX_WBITS,
             "plain": None}
    for n, (form, wbits) in enumerate(forms.items()):
        ev = {"event_id": f"{n + 1:032x}", "message": f"legacy form {form}", "platform": "node"}
        body = (base64.encodebytes(json.dumps(ev).encode()) if wbits is None
                else legacy_body(ev, wbits))
        st, doc = post_store(s, p, b"\n " + body + b"\n")
        assert st == 200 and doc["id"] == ev["event_id"], (wbits, st, doc)
        sent.append(ev["message"])
    by_title = wait_issues(s, p["id"], len(sent))
    assert set(by_title) == set(sent), by_title

    for body, why in [(b"eJ!!", "invalid base64 character 0x21 at byte 2"),
                      (b"[1, 2]", "invalid base64 character 0x5b at byte 0"),
                      (base64.b64encode(b"not compressed"), "bad compressed data"),
                      (legacy_body({"message": "x" * 100})[:-8], "")]:
        st, doc = post_store(s, p, body)
        assert st == 400, (body, st, doc)
        assert doc["detail"].startswith("body is neither JSON nor base64(zlib(JSON)): "), doc
        assert why in doc["detail"], (why, doc)
    # plain JSON (raven-go's short events) still goes the usual way, errors included
    st, doc = post_store(s, p, b'  {"message": "plain"', "application/json")
    assert st == 400 and "malformed JSON" in doc["detail"], doc

    # a bomb: 32 MiB of zeros in a small body is cut off at --max-decoded-bytes
    z = zlib.compressobj(9)
    bomb = z.compress(b"\0" * (32 << 20)) + z.flush()
    assert len(base64.b64encode(bomb)) < 65536
    st, doc = post_store(s, p, base64.b64encode(bomb))
    assert st == 413 and doc["detail"], (st, doc)
    # the base64 text itself counts against --max-body-bytes
    st, doc = post_store(s, p, base64.b64encode(os.urandom(60000)))
    assert st == 413 and doc["detail"], (st, doc)
    assert s.request("GET", "/healthz", token=None)[0] == 200
    assert sum(i["count"] for i in issues(s, p["id"])) == len(sent)
