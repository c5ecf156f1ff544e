"""gunicorn hooks for sluice_memory: one memory series per worker slot, stable across recycling.

In gunicorn.conf.py:

    from sluice_memory_gunicorn import pre_fork, post_fork  # noqa: F401

(or call them from your own hooks of the same names). Settings are sluice_memory's, the same
everywhere: environment variables (SLUICE_DSN, else SENTRY_DSN here; SLUICE_SERVICE, default
gunicorn's proc_name; SLUICE_RELEASE, SLUICE_MEMORY_LIMIT, SLUICE_INTERVAL,
SLUICE_TRACEMALLOC_TOP), under `sluice_memory.configure(...)` called in gunicorn.conf.py or in
the app (Django's SLUICE_MEMORY setting goes through configure, so it reaches this sampler too).
Without a DSN the hooks log one line and do not sample.

Why a slot: gunicorn numbers workers by `age`, which only grows, so a worker recycled by
`max_requests` (or killed by the OOM killer) would come back under a new name and its history
would be cut in pieces. The arbiter's WORKERS table (pid -> worker, live workers only: a dead
one is removed when it is reaped) is the slot table: pre_fork runs in the arbiter before each
fork and gives the new worker the smallest slot number that no live worker holds, so the
replacement of slot 3 is slot 3 again. post_fork runs in the new worker and starts the sampler
as `{hostname}/{service}-{slot}`. (While a reload overlaps old and new workers, new ones take
higher slots for a moment; the pool settles back to 0..N-1 as the old ones exit.)
"""
import os

import sluice_memory

_no_dsn_logged = False  # set in the arbiter by pre_fork, so forked workers stay quiet


def _service(server):
    return (sluice_memory.settings().get("service") or getattr(server, "proc_name", None)
            or "gunicorn")


def _dsn():
    return sluice_memory.settings().get("dsn") or os.environ.get("SENTRY_DSN")


def _check_dsn(server):
    """Logs once (per arbiter, or per worker without pre_fork) that there is no DSN."""
    global _no_dsn_logged
    if _dsn() or _no_dsn_logged:
        return
    _no_dsn_logged = True
    server.log.warning("sluice_memory: no DSN (SLUICE_DSN, SENTRY_DSN or "
                       "sluice_memory.configure(dsn=...)): the gunicorn hooks do not sample memory")


def pre_fork(server, worker):
    """Arbiter side: assigns worker.sluice_slot, the smallest slot free among live workers."""
    _check_dsn(server)
    used = set()
    for w in list(getattr(server, "WORKERS", {}).values()):
        slot = getattr(w, "sluice_slot", None)
        if slot is not None:
            used.add(slot)
    slot = 0
    while slot in used:
        slot += 1
    worker.sluice_slot = slot


def post_fork(server, worker):
    """Worker side: starts the sampler under the slot's id. Without pre_fork the slot falls
    back to sluice_memory's lock-file slots, which are stable too. The id and service are
    configured for this process, so a sampler started later (by the Django app, once a DSN
    setting is known) keeps them."""
    service = _service(server)
    slot = getattr(worker, "sluice_slot", None)
    worker_id = sluice_memory.settings().get("worker_id")
    if not worker_id and slot is not None:
        worker_id = sluice_memory.make_worker_id(service, slot)
    sluice_memory.configure(worker_id=worker_id, service=service)
    dsn = _dsn()
    if not dsn:
        _check_dsn(server)
        return
    # A sampler inherited from a preloading arbiter restarted itself under a lock-file slot;
    # replace it so the id follows the arbiter's table.
    sluice_memory.stop(flush=False)
    try:
        sluice_memory.start(dsn)
    except (ValueError, TypeError) as e:
        server.log.warning("sluice_memory not started: %s", e)
