"""Hostile requests: every one gets a clear 4xx with a JSON `detail` (or a closed connection
where the request cannot be read), and the server keeps answering everyone else. Raw sockets
to 127.0.0.1 only; every wait is bounded."""
import gzip
import json
import socket
import time

import pytest

from conftest import ADMIN_TOKEN, Server

FLAGS = ["--header-timeout-ms", "600", "--body-timeout-ms", "600", "--keepalive-timeout-ms",
         "600", "--max-requests-per-conn", "3", "--max-connections", "5", "--max-headers", "16",
         "--max-header-bytes", "4096", "--max-body-bytes", "65536", "--max-decoded-bytes",
         "262144", "--max-envelope-items", "5", "--max-json-depth", "16"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("hostile")), FLAGS).start()
    s.project = s.create_project("hostile")
    yield s
    s.stop()


def connect(s):
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.settimeout(5)
    return c


def read_all(c, timeout=5):
    """Reads until the server closes (or timeout); returns the bytes."""
    c.settimeout(timeout)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = c.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def exchange(s, data, timeout=5):
    c = connect(s)
    try:
        c.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = read_all(c, timeout)
    c.close()
    return out


def parse(resp):
    """(status, headers dict lowercased, body bytes) of the first response in resp."""
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", len(body)))
    return status, headers, body[:n]


def assert_error(resp, status):
    assert resp, "connection closed without an answer"
    st, h, body = parse(resp)
    assert st == status, resp[:300]
    assert h.get("content-type") == "application/json"
    assert json.loads(body)["detail"]
    return h


def closed_by_server(c, timeout=5):
    """True when the server closes c within timeout (any response bytes are ignored)."""
    c.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if not c.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


def store_headers(s):
    return {"X-Sentry-Auth": f"Sentry sentry_key={s.project['public_key']}, sentry_version=7",
            "Content-Type": "application/json"}


def assert_healthy(s):
    st, doc, _ = s.request("GET", "/healthz", token=None)
    assert st == 200, doc
    st, doc, _ = s.request("POST", f"/api/{s.project['id']}/store/",
                           body=json.dumps({"message": "still fine"}).encode(),
                           headers=store_headers(s), token=None)
    assert st == 200, doc


def post(path, body, extra=b""):
    return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n" + extra + b"\r\n" + body)


def store_path(s):
    return f"/api/{s.project['id']}/store/?sentry_key={s.project['public_key']}".encode()


def envelope_path(s):
    return f"/api/{s.project['id']}/envelope/?sentry_key={s.project['public_key']}".encode()


# --- timeouts -------------------------------------------------------------------------------
def test_slowloris_header_timeout(srv):
    c = connect(srv)
    c.sendall(b"GET /healthz HTTP/1.1\r\n")
    t0 = time.time()
    closed = False
    while time.time() - t0 < 4:  # trickle a header byte every 100 ms
        try:
            c.sendall(b"X")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        assert_healthy(srv) if int((time.time() - t0) * 10) % 5 == 0 else None
        time.sleep(0.1)
        c.settimeout(0.01)
        try:
            if c.recv(65536) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
            break
    assert closed or closed_by_server(c, 1), "slowloris connection was never closed"
    assert time.time() - t0 < 3
    c.close()
    assert_healthy(srv)


def test_body_idle_timeout(srv):
    c = connect(srv)
    c.sendall(b"POST " + store_path(srv) + b" HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"a\":")
    t0 = time.time()
    resp = read_all(c, 4)
    assert time.time() - t0 < 3
    assert_error(resp, 408)
    c.close()
    assert_healthy(srv)


def test_keepalive_idle_close(srv):
    c = connect(srv)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    t0 = time.time()
    resp = read_all(c, 4)
    assert parse(resp)[0] == 200
    assert 0.3 < time.time() - t0 < 3  # closed by the keep-alive timeout, not at once
    c.close()


# --- head limits ------------------------------------------------------------------------------
def test_too_many_headers(srv):
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(40))
    assert_error(exchange(srv, b"GET /healthz HTTP/1.1\r\n" + extra + b"\r\n"), 431)
    assert_healthy(srv)


def test_header_bytes_too_large(srv):
    req = b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n"
    assert_error(exchange(srv, req), 431)
    assert_healthy(srv)


def test_uri_too_long(srv):
    assert_error(exchange(srv, b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\n\r\n"), 414)
    assert_healthy(srv)


# --- body limits ------------------------------------------------------------------------------
def test_body_too_large_announced(srv):
    c = connect(srv)
    c.sendall(b"POST " + store_path(srv) + b" HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n")
    assert_error(read_all(c), 413)  # answered before any body byte was sent
    c.close()
    assert_healthy(srv)


def test_body_too_large_chunked(srv):
    chunk = b"a" * 30000
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(4)) + b"0\r\n\r\n"
    req = (b"POST " + store_path(srv) + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert_error(exchange(srv, req), 413)
    assert_healthy(srv)


def test_gzip_bomb(srv):
    bomb = gzip.compress(b"{" + b" " * 50_000_000 + b"}", 9)
    assert len(bomb) < 65536
    st, doc, _ = srv.request("POST", f"/api/{srv.project['id']}/store/", body=bomb,
                             headers=dict(store_headers(srv), **{"Content-Encoding": "gzip"}),
                             token=None)
    assert st == 413 and doc["detail"], (st, doc)
    assert_healthy(srv)


def test_too_many_envelope_items(srv):
    items = b"".join(b'{"type":"client_report"}\n{"discarded_events":[]}\n' for _ in range(6))
    st, doc, _ = srv.request("POST", envelope_path(srv).decode(), body=b"{}\n" + items,
                             token=None)
    assert st == 400 and doc["detail"], (st, doc)
    assert_healthy(srv)


def test_json_too_deep(srv):
    deep = b'{"message":"x","extra":' + b"[" * 40 + b"]" * 40 + b"}"
    st, doc, _ = srv.request("POST", f"/api/{srv.project['id']}/store/", body=deep,
                             headers=store_headers(srv), token=None)
    assert st == 400 and "deeper" in doc["detail"], (st, doc)
    assert_healthy(srv)


# --- request smuggling ------------------------------------------------------------------------
SMUGGLING = {
    "cl-and-te": b"POST /healthz HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
                 b"\r\n0\r\n\r\n",
    "two-cl": b"POST /healthz HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
    "bad-chunk-size": b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n"
                      b"0\r\n\r\n",
    "chunk-size-overflow": b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"fffffffffffffffffff\r\nab\r\n0\r\n\r\n",
    "te-not-chunked-last": b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "obs-fold": b"GET /healthz HTTP/1.1\r\nX-A: a\r\n  folded\r\n\r\n",
    "bare-lf": b"GET /healthz HTTP/1.1\nHost: x\n\n",
    "space-before-colon": b"GET /healthz HTTP/1.1\r\nContent-Length : 0\r\n\r\n",
    "negative-cl": b"POST /healthz HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_refused(srv, name):
    resp = exchange(srv, SMUGGLING[name] + b"GET /healthz HTTP/1.1\r\n\r\n")
    assert resp, name
    assert_error(resp, 400)
    assert resp.count(b"HTTP/1.1 ") == 1, "a smuggled second request was answered"
    assert_healthy(srv)


# --- connections ------------------------------------------------------------------------------
def test_connection_limit(srv):
    held = [connect(srv) for _ in range(5)]
    for c in held:  # make sure every one is accepted and registered
        c.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
        assert parse(c.recv(65536))[0] == 200
    extra = connect(srv)
    assert closed_by_server(extra, 3), "the 6th connection was not closed"
    extra.close()
    for c in held:
        c.close()
    deadline = time.time() + 5
    while True:
        try:
            assert_healthy(srv)
            break
        except (AssertionError, OSError):
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_requests_per_connection(srv):
    c = connect(srv)
    c.sendall(b"GET /healthz HTTP/1.1\r\n\r\n" * 3)
    resp = read_all(c, 3)
    assert resp.count(b"HTTP/1.1 200") == 3
    assert resp.rsplit(b"HTTP/1.1 200", 1)[1].lower().count(b"connection: close") == 1
    c.close()


# --- routing and the API ----------------------------------------------------------------------
@pytest.mark.parametrize("path", [b"/../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd",
                                  b"/assets/../../../etc/passwd", b"/%2E%2E%2f%2E%2E%2fetc%2fpasswd",
                                  b"/./../etc/passwd"])
def test_path_traversal(srv, path):
    resp = exchange(srv, b"GET " + path + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert_error(resp, 404)
    assert b"root:" not in resp
    assert_healthy(srv)


def test_api_without_token(srv):
    for method, path in [("GET", "/api/v1/projects"), ("POST", "/api/v1/projects"),
                         ("PATCH", f"/api/v1/projects/{srv.project['id']}")]:
        st, doc, _ = srv.request(method, path, body={"name": "x"} if method != "GET" else None,
                                 token=None)
        assert st == 401 and doc["detail"], (method, path, st, doc)
        st, doc, _ = srv.request(method, path, body={"name": "x"} if method != "GET" else None,
                                 token="wrong-token")
        assert st == 401 and doc["detail"], (method, path, st, doc)
    assert_healthy(srv)


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b"{\"name\":", b"\xff\xfe", b""])
def test_api_non_json(srv, body):
    for method, path in [("POST", "/api/v1/projects"),
                         ("PATCH", f"/api/v1/projects/{srv.project['id']}")]:
        st, doc, _ = srv.request(method, path, body=body,
                                 headers={"Content-Type": "application/json"})
        assert st == 400 and isinstance(doc, dict) and doc["detail"], (method, body, st, doc)
    assert_healthy(srv)


def test_store_garbage(srv):
    for body in [b"not json", b"[]", b"{\"exception\": 5}", b"\x00\x01"]:
        st, doc, _ = srv.request("POST", f"/api/{srv.project['id']}/store/", body=body,
                                 headers=store_headers(srv), token=None)
        assert st == 400 and doc["detail"], (body, st, doc)
    st, doc, _ = srv.request("POST", f"/api/{srv.project['id']}/store/", body=b"xx",
                             headers=dict(store_headers(srv), **{"Content-Encoding": "gzip"}),
                             token=None)
    assert st == 400 and doc["detail"], (st, doc)
    assert_healthy(srv)


def test_header_value_split_across_reads(srv):
    """A value that arrives in two TCP segments is not mistaken for obs-fold."""
    c = connect(srv)
    c.sendall(b"GET /healthz HTTP/1.1\r\nX-A: ab")
    time.sleep(0.05)
    c.sendall(b"cd ef")
    time.sleep(0.05)
    c.sendall(b"gh\r\nConnection: close\r\n\r\n")
    assert parse(read_all(c))[0] == 200
    c.close()
