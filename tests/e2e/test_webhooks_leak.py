"""Memory-leak alerts end to end: a worker whose memory grows steadily fires one memory_leak
alert, delivered to a signed generic webhook and to a Slack-like one with the evidence (slope,
projection, top growing allocation sites); after a fix is deployed (a new life that stays flat)
the alert resolves and memory_leak_resolved is delivered, once each."""
import json
import time

from test_webhooks import FAST, Receiver, add_hook, check_slack, verify

MIB = 1 << 20


def post_memory(s, project, worker, samples):
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={project['public_key']}, sentry_version=7"}
    for i in range(0, len(samples), 1000):
        status, doc, _ = s.request("POST", f"/api/{project['id']}/memory/",
                                   {"worker": worker, "samples": samples[i:i + 1000]},
                                   headers=auth, token=None)
        assert status == 200, (status, doc)


def series(t0, hours, base, per_hour, step=30.0, sites=None):
    """Samples every `step` s with a small ripple; growth `per_hour` bytes per hour."""
    out = []
    n = int(hours * 3600 / step)
    for i in range(n):
        t = t0 + i * step
        rss = int(base + per_hour * (t - t0) / 3600 + ((i * 7919) % 11 - 5) * 200_000)
        smp = {"timestamp": t, "rss_bytes": rss}
        if sites and i % 20 == 0:
            grown = int(per_hour * (t - t0) / 3600)
            smp["top_allocations"] = [
                {"site": "app/cache.py:88", "size_bytes": 4 * MIB + grown, "count": 100 + i},
                {"site": "app/views.py:42", "size_bytes": 2 * MIB, "count": 50},
            ]
        out.append(smp)
    return out


def test_leak_fires_once_and_resolves_after_fix(server_factory):
    generic, slack = Receiver(), Receiver()
    s = server_factory(*FAST)
    try:
        project = s.create_project("leaky")
        hook = add_hook(s, project, generic.url, events=["memory_leak", "memory_leak_resolved"])
        add_hook(s, project, slack.url, kind="slack", events=["memory_leak", "memory_leak_resolved"])
        now = time.time()
        t0 = now - 11 * 3600
        worker = {"id": "web-1/gunicorn-2", "pid": 4312, "started_at": t0, "host": "web-1",
                  "service": "shop", "release": "1.4.2", "memory_limit_bytes": 512 * MIB}
        # 6 hours leaking 8 MiB/h (about 5%/h of a 160 MiB baseline), with allocation reports.
        post_memory(s, project, worker, series(t0, 6, 160 * MIB, 8 * MIB, sites=True))

        def fired():
            alerts = s.api("GET", f"/api/v1/projects/{project['id']}/alerts?kind=memory_leak")
            return [a for a in alerts["alerts"] if a["worker_id"] == worker["id"]]
        alerts = s.wait_for(fired, timeout=10)
        assert len(alerts) == 1 and alerts[0]["status"] == "firing", alerts
        d = alerts[0]["details"]
        assert 4 * MIB < d["slope_bytes_per_hour"] < 12 * MIB, d
        assert d["projected_limit_at"], d
        assert d["top_growing"] and d["top_growing"][0]["site"] == "app/cache.py:88", d

        got = s.wait_for(lambda: [b for b in generic.bodies() if b["type"] == "memory_leak"],
                         timeout=15)
        assert len(got) == 1
        data = got[0]["data"]
        assert data["worker_id"] == worker["id"] and data["service"] == "shop"
        assert data["top_growing"][0]["site"] == "app/cache.py:88"
        req = generic.requests[0]
        assert verify(hook["secret"], {k.lower(): v for k, v in req["headers"].items()},
                      req["body"])
        msg = s.wait_for(lambda: slack.bodies(), timeout=15)[0]
        text = check_slack(msg)
        assert worker["id"] in text and "MB/h" in text and "app/cache.py:88" in text

        # The fix is deployed: a new life (new pid) that stays flat for 4 hours.
        fixed = dict(worker, pid=5120, started_at=t0 + 6 * 3600 + 60, release="1.4.3")
        post_memory(s, project, fixed, series(t0 + 6 * 3600 + 60, 4.5, 150 * MIB, 0))

        def resolved():
            alerts = s.api("GET", f"/api/v1/projects/{project['id']}/alerts?kind=memory_leak")
            mine = [a for a in alerts["alerts"] if a["worker_id"] == worker["id"]]
            return mine if mine and mine[0]["status"] == "resolved" else None
        alerts = s.wait_for(resolved, timeout=10)
        assert len(alerts) == 1, "no flapping: one alert, fired once, resolved once"
        assert alerts[0]["resolved_at"] > alerts[0]["fired_at"]
        done = s.wait_for(lambda: [b for b in generic.bodies()
                                   if b["type"] == "memory_leak_resolved"], timeout=15)
        assert len(done) == 1 and done[0]["data"]["worker_id"] == worker["id"]
        s.wait_for(lambda: len(slack.bodies()) >= 2, timeout=15)
        time.sleep(1.0)  # nothing else trickles in: each message went out once
        assert [b["type"] for b in generic.bodies()] == ["memory_leak", "memory_leak_resolved"]
        assert len(slack.bodies()) == 2
        w = s.api("GET", f"/api/v1/projects/{project['id']}/workers")["workers"][0]
        assert w["state"] == "ok", w
    finally:
        generic.stop()
        slack.stop()
