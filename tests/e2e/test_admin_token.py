"""A lost admin token (README "Operations"): starting once with --admin-token NEW replaces the
stored hash, so the old token stops working at once and stays invalid after a restart without
the flag, when the server reads the token's hash from the database again."""
import re

from conftest import ADMIN_TOKEN, Server

GENERATED = re.compile(r"Generated admin token[^\n]*\n\s*\n\s*(slu_[0-9a-f]{48})\s")


def status(s, token):
    st, _, _ = s.request("GET", "/api/v1/projects", token=token)
    return st


def restart(s, token):
    """Restarts s on the same database and port; token "" means no token configured
    (an empty --admin-token after conftest's own, which the last flag overrides)."""
    s.stop()
    s.extra_args = ["--admin-token", token]
    return s.start()


def test_reset_token_replaces_the_stored_one_across_restarts(tmp_path):
    s = Server(str(tmp_path), ["--admin-token", ""]).start()
    try:
        m = GENERATED.search(s.read_log())
        assert m, "no generated token in the log:\n" + s.read_log()
        lost = m.group(1)
        assert status(s, lost) == 200
        assert status(s, ADMIN_TOKEN) == 401

        new = "reset-admin-token-after-losing-the-old-one"
        restart(s, new)
        assert status(s, new) == 200
        assert status(s, lost) == 401

        restart(s, "")  # no token configured: the stored hash decides
        assert status(s, new) == 200
        assert status(s, lost) == 401
        assert len(GENERATED.findall(s.read_log())) == 1, "a second token was generated"
        assert s.read_log().count("admin token replaced") == 1
    finally:
        s.stop()


def test_configured_token_on_a_new_database_is_kept_without_the_flag(tmp_path):
    s = Server(str(tmp_path)).start()  # conftest's ADMIN_TOKEN from the first start
    try:
        assert status(s, ADMIN_TOKEN) == 200
        restart(s, "")
        assert status(s, ADMIN_TOKEN) == 200
        assert not GENERATED.search(s.read_log()), "a token was generated over the configured one"
    finally:
        s.stop()
