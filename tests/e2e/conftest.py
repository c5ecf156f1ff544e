"""Black-box harness: starts the real `sluice` binary on a free loopback port with a fresh
SQLite file and a known admin token, and gives tests a small API client. Run with Debian's
/usr/bin/python3 (pytest, sentry_sdk come from Debian packages)."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

SLUICE_BIN = os.environ.get("SLUICE_BIN", os.path.join(os.path.dirname(__file__), "../../build/sluice"))
ADMIN_TOKEN = "test-admin-token-0123456789"
# Under an ASan/UBSan build (make test-asan) any report must fail the test: the server aborts
# on the first error, and stop() looks for reports (leaks print at exit) in its log.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:abort_on_error=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running sluice process. `start()` may be called again after `kill()` or `stop()`
    to restart on the same database and port."""

    def __init__(self, tmpdir, extra_args=()):
        self.dir = tmpdir
        self.db = os.path.join(tmpdir, "sluice.db")
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(tmpdir, "server.log")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        args = [SLUICE_BIN, "--listen", f"127.0.0.1:{self.port}", "--db", self.db,
                "--admin-token", ADMIN_TOKEN] + self.extra_args
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        for k, v in SANITIZER_ENV.items():
            env.setdefault(k, v)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice exited with {self.proc.returncode}: " + self.read_log())
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        raise RuntimeError("sluice did not become healthy: " + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        self.check_sanitizers()
        return rc

    def check_sanitizers(self):
        log = self.read_log()
        for marker in SANITIZER_MARKERS:
            assert marker not in log, "sanitizer report in the server log:\n" + log[-6000:]

    def kill(self):
        return self.stop(signal.SIGKILL)

    # --- HTTP helpers -------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, token=ADMIN_TOKEN, raw=False):
        """Returns (status, parsed JSON or raw bytes, headers)."""
        h = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            else:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
        if token:
            h.setdefault("Authorization", f"Bearer {token}")
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                payload, status, rh = r.read(), r.status, r.headers
        except urllib.error.HTTPError as e:
            payload, status, rh = e.read(), e.code, e.headers
        if raw:
            return status, payload, rh
        try:
            return status, json.loads(payload) if payload else None, rh
        except ValueError:
            return status, payload, rh

    def api(self, method, path, body=None, expect=None):
        status, doc, _ = self.request(method, path, body)
        if expect is not None:
            assert status == expect, (status, doc)
        return doc

    def create_project(self, name="shop"):
        """Returns {"id", "name", "public_key", "dsn"} of a new project."""
        return self.api("POST", "/api/v1/projects", {"name": name}, expect=201)

    def dsn(self, project):
        return f"http://{project['public_key']}@127.0.0.1:{self.port}/{project['id']}"

    def wait_for(self, fn, timeout=10, interval=0.05):
        """Polls fn() until it returns a truthy value; returns it or fails the test."""
        deadline = time.time() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.time() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(interval)


@pytest.fixture
def server(tmp_path):
    s = Server(str(tmp_path)).start()
    yield s
    s.stop()


@pytest.fixture
def server_factory(tmp_path):
    """Makes servers with extra flags: server_factory("--allow-private-webhooks")."""
    made = []

    def make(*extra):
        d = tempfile.mkdtemp(dir=str(tmp_path))
        s = Server(d, extra).start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()
