"""Operations surface (issue 7): Prometheus /metrics — requests by endpoint and status, items
accepted and requests rejected by reason, writer queue depth, batch size and commit latency
histograms, checkpoints, webhook attempts by result, workers by leak state — and logfmt logs
with one line per notable thing, never one per event at the default level."""
import json
import re
import time
import uuid

from conftest import Server

LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$')


def scrape(s):
    st, body, h = s.request("GET", "/metrics", token=None, raw=True)
    assert st == 200 and h["Content-Type"].startswith("text/plain")
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        assert m, f"not Prometheus text: {line!r}"
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def envelope(p, body=None):
    eid = uuid.uuid4().hex
    item = json.dumps(body if body is not None else {"event_id": eid, "message": "ops"})
    return (json.dumps({"event_id": eid}) + "\n" + json.dumps({"type": "event"}) + "\n" + item
            + "\n").encode()


def post(s, p, data):
    return s.request("POST", f"/api/{p['id']}/envelope/?sentry_key={p['public_key']}", body=data,
                     headers={"Content-Type": "application/x-sentry-envelope"}, token=None)


def test_metrics_count_requests_by_endpoint_and_status(tmp_path):
    s = Server(str(tmp_path)).start()
    try:
        p = s.create_project("ops")
        for _ in range(3):
            assert post(s, p, envelope(p))[0] == 200
        assert post(s, p, b'{not json\n')[0] == 400
        assert s.request("POST", f"/api/{p['id']}/envelope/", body=envelope(p),
                         token=None)[0] == 401
        assert s.request("DELETE", "/api/v1/projects", token=None)[0] == 405
        assert s.request("GET", "/readyz", token=None)[0] == 200
        m = scrape(s)
        ep = 'sluice_http_requests_total{endpoint="POST /api/:project/envelope",status="%d"}'
        assert m[ep % 200] == 3 and m[ep % 400] == 1 and m[ep % 401] == 1
        assert m['sluice_http_requests_total{endpoint="other",status="405"}'] == 1
        assert m['sluice_http_requests_total{endpoint="GET /readyz",status="200"}'] == 1
        assert m['sluice_http_requests_total{endpoint="POST /api/v1/projects",status="201"}'] == 1
        assert m['sluice_items_accepted_total{type="event"}'] == 3
        assert m['sluice_requests_rejected_total{reason="invalid"}'] == 1
        assert m['sluice_requests_rejected_total{reason="auth"}'] == 1
        assert m['sluice_requests_rejected_total{reason="out_of_memory"}'] == 0
        assert m["sluice_writer_queue_depth"] == 0 and m["sluice_writer_queue_capacity"] > 0
        # 3 events + the project + /readyz's write went through the writer
        assert m["sluice_writer_batch_size_sum"] >= 5
        assert m['sluice_writer_batch_size_bucket{le="+Inf"}'] == m["sluice_writer_batch_size_count"]
        assert m['sluice_writer_commit_seconds_bucket{le="+Inf"}'] >= 1
        assert 'sluice_checkpoints_total{by="checkpointer"}' in m
        assert 'sluice_webhook_attempts_total{outcome="delivered"}' in m
        assert m['sluice_workers{state="ok"}'] == 0
        assert m["sluice_connections_open"] >= 0
    finally:
        assert s.stop() == 0


def test_logs_are_logfmt_and_quiet_per_event(tmp_path):
    s = Server(str(tmp_path)).start()
    try:
        p = s.create_project("logs")
        time.sleep(0.2)
        before = len(s.read_log().splitlines())
        for _ in range(50):
            assert post(s, p, envelope(p))[0] == 200
        time.sleep(0.3)
        lines = s.read_log().splitlines()
        assert len(lines) - before <= 1, lines[before:]  # no line per event (housekeeping aside)
    finally:
        assert s.stop() == 0
    logfmt = re.compile(r'^ts=\S+ level=(debug|info|warn|error) msg="[^"]*"( [a-z_]+=("[^"]*"|\S+))*$')
    lines = [line for line in s.read_log().splitlines() if line.startswith("ts=")]
    assert lines and all(logfmt.match(line) for line in lines), lines
    text = "\n".join(lines)
    assert 'msg="sluice started"' in text or "started" in text
    assert "stopped" in text
