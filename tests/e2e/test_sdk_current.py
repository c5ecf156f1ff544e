"""The current Go and Ruby SDKs that Debian packages, sending to a running sluice and checked
through the management API: sentry-go 0.11 (golang-github-getsentry-sentry-go-dev, a small
program under sdk/sentry_go built here with Debian's Go in GOPATH mode, no module downloads) and
sentry-ruby 5.3 (ruby-sentry-ruby, a script under sdk/sentry_ruby run by /usr/bin/ruby). Each
client reports one failure twice (one issue counted twice), another failure and a warning
message; the test checks what was stored: titles, culprits, levels, release and environment."""
import json
import os
import subprocess
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GO_SRC = os.path.join(HERE, "sdk", "sentry_go")
RUBY_SCRIPT = os.path.join(HERE, "sdk", "sentry_ruby", "send_errors.rb")
DEBIAN_GOPATH = "/usr/share/gocode"


@pytest.fixture(scope="module")
def sentry_go_bin(tmp_path_factory):
    """Builds sdk/sentry_go against the Debian package's sources; returns the binary's path."""
    work = tmp_path_factory.mktemp("sentry-go")
    binary = str(work / "sentry_go")
    env = dict(os.environ, GO111MODULE="off", GOPATH=f"{DEBIAN_GOPATH}:{work}", GOPROXY="off",
               GOFLAGS="", GOCACHE=str(work / "cache"), CGO_ENABLED="0")
    r = subprocess.run(["go", "build", "-o", binary, "."], cwd=GO_SRC, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return binary


def run_client(argv, server, project):
    """Runs a client with SLUICE_DSN set to the project's DSN; returns the event ids it printed
    (one JSON string per line on stdout)."""
    env = dict(os.environ, SLUICE_DSN=server.dsn(project))
    env.pop("SENTRY_DSN", None)
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def stored_issues(server, pid, total):
    """Waits until the project's issues add up to `total` events; returns {title: issue detail}."""
    def ready():
        q = urllib.parse.urlencode({"status": "all", "limit": 100})
        got = server.api("GET", f"/api/v1/projects/{pid}/issues?{q}", expect=200)["issues"]
        return got if sum(i["count"] for i in got) == total else None
    return {i["title"]: server.api("GET", f"/api/v1/issues/{i['id']}", expect=200)
            for i in server.wait_for(ready)}


def check_event(server, project, event_id, issue, release):
    e = server.api("GET", f"/api/v1/projects/{project['id']}/events/{event_id}", expect=200)
    assert e["issue_id"] == issue["id"]
    assert e["release"] == release and e["environment"] == "staging"
    return e


def check_issue(issue, count, culprit, level, release):
    assert (issue["count"], issue["culprit"], issue["level"]) == (count, culprit, level), issue
    assert issue["first_release"] == release and issue["last_release"] == release
    assert issue["status"] == "unresolved"


def run_and_check_repeated(server, project, argv, release, titles, repeated, culprit):
    """Runs a client that sends four events, the first two the same failure; checks the stored
    issue titles and the repeated failure's issue (counted twice, both events in it). Returns
    (event ids, {title: issue detail}, the first event's stored detail)."""
    ids = run_client(argv, server, project)
    assert len(ids) == 4 and len(set(ids)) == 4
    got = stored_issues(server, project["id"], 4)
    assert sorted(got) == titles, list(got)
    issue = got[repeated]
    check_issue(issue, 2, culprit, "error", release)
    events = server.api("GET", f"/api/v1/issues/{issue['id']}/events", expect=200)["events"]
    assert sorted(e["event_id"] for e in events) == sorted(ids[:2])
    return ids, got, check_event(server, project, ids[0], issue, release)


def test_sentry_go(server, sentry_go_bin):
    p = server.create_project("sentry-go")
    ids, got, e = run_and_check_repeated(
        server, p, [sentry_go_bin], "shop@2.0.0",
        ["*fmt.wrapError: checkout 19: card declined for order 19",
         "*main.declinedError: card declined for order 18", "inventory sync finished with warnings"],
        "*main.declinedError: card declined for order 18", "main in main")
    assert e["platform"] == "go" and e["sdk"]["name"] == "sentry.go"
    # sentry-go 0.11 sends the exception list bare (no "values" object)
    [exc] = e["exception"]
    assert (exc["type"], exc["value"]) == ("*main.declinedError", "card declined for order 17")
    top = exc["stacktrace"]["frames"][-1]
    assert (top["module"], top["function"], top["in_app"]) == ("main", "main", True)
    assert top["abs_path"].endswith("main.go") and isinstance(top["lineno"], int)

    wrapped = got["*fmt.wrapError: checkout 19: card declined for order 19"]
    check_issue(wrapped, 1, "main in main", "error", "shop@2.0.0")
    e = check_event(server, p, ids[2], wrapped, "shop@2.0.0")
    assert [x["type"] for x in e["exception"]] == ["*main.declinedError", "*fmt.wrapError"]

    message = got["inventory sync finished with warnings"]
    check_issue(message, 1, "", "warning", "shop@2.0.0")
    check_event(server, p, ids[3], message, "shop@2.0.0")


def test_sentry_ruby(server):
    p = server.create_project("sentry-ruby")
    ids, got, e = run_and_check_repeated(
        server, p, ["/usr/bin/ruby", RUBY_SCRIPT], "shop@3.0.0",
        ["KeyError: key not found: :sku", "PaymentDeclined: card declined for order 18",
         "inventory sync finished with warnings"],
        "PaymentDeclined: card declined for order 18", "sentry_ruby/send_errors.rb in charge")
    assert e["platform"] == "ruby" and e["sdk"]["name"] == "sentry.ruby"
    [exc] = e["exception"]["values"]
    assert (exc["type"], exc["value"]) == ("PaymentDeclined", "card declined for order 17")
    top = exc["stacktrace"]["frames"][-1]
    assert (top["function"], top["filename"], top["in_app"]) == ("charge", "sentry_ruby/send_errors.rb", True)
    assert top["context_line"].strip().startswith("raise PaymentDeclined")

    keyerr = got["KeyError: key not found: :sku"]
    check_issue(keyerr, 1, "sentry_ruby/send_errors.rb in fetch", "error", "shop@3.0.0")
    check_event(server, p, ids[2], keyerr, "shop@3.0.0")

    message = got["inventory sync finished with warnings"]
    check_issue(message, 1, "", "warning", "shop@3.0.0")
    e = check_event(server, p, ids[3], message, "shop@3.0.0")
    assert e["message"] == "inventory sync finished with warnings"
