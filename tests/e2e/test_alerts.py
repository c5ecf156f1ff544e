"""The alerts list: new_issue and regression alerts are notifications (status "notified"), never
firing and never resolved, so the Firing view holds only what is wrong now; the status and kind
filters, and the 400s for values they do not know."""
from test_webhooks import send_issue


def alerts(s, project, query=""):
    return s.api("GET", f"/api/v1/projects/{project['id']}/alerts{query}", expect=200)["alerts"]


def test_issue_alerts_are_notifications(server):
    p = server.create_project("notify")
    send_issue(server, p, "FirstError")
    server.wait_for(lambda: alerts(server, p))
    [a] = alerts(server, p)
    assert a["kind"] == "new_issue" and a["status"] == "notified", a
    assert a["fired_at"] and a["resolved_at"] is None
    assert alerts(server, p, "?status=firing") == []
    assert alerts(server, p, "?status=resolved") == []
    assert [x["id"] for x in alerts(server, p, "?status=notified")] == [a["id"]]
    assert [x["id"] for x in alerts(server, p, "?status=all")] == [a["id"]]

    # resolving the issue does not touch its notification; coming back is another one
    server.api("PATCH", f"/api/v1/issues/{a['issue_id']}", {"status": "resolved"}, expect=200)
    assert alerts(server, p, "?status=notified")[0]["status"] == "notified"
    send_issue(server, p, "FirstError")
    server.wait_for(lambda: alerts(server, p, "?kind=regression"))
    notified = alerts(server, p, "?status=notified")
    assert [x["kind"] for x in notified] == ["regression", "new_issue"]
    assert all(x["resolved_at"] is None for x in notified)
    assert alerts(server, p, "?status=firing") == []
    assert [x["kind"] for x in alerts(server, p, "?status=notified&kind=regression")] == ["regression"]


def test_unknown_filters_are_400(server):
    p = server.create_project("filters")
    base = f"/api/v1/projects/{p['id']}/alerts"
    st, doc, _ = server.request("GET", base + "?kind=nope")
    assert st == 400
    assert doc["detail"] == "kind: must be memory_leak, new_issue or regression", doc
    st, doc, _ = server.request("GET", base + "?status=open")
    assert st == 400
    assert doc["detail"] == "status: must be all, firing, resolved or notified", doc
    for ok in ("", "?kind=", "?status=all", "?status=notified&kind=new_issue"):
        assert server.api("GET", base + ok, expect=200)["alerts"] == []
