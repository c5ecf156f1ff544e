"""gunicorn hooks for sluice_memory: one memory series per worker slot, stable across recycling.

In gunicorn.conf.py:

    from sluice_memory_gunicorn import pre_fork, post_fork  # noqa: F401

(or call them from your own hooks of the same names). The DSN comes from SLUICE_DSN (or
SENTRY_DSN); SLUICE_SERVICE names the service (default: gunicorn's proc_name).

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


def _service(server):
    return (os.environ.get("SLUICE_SERVICE") or getattr(server, "proc_name", None)
            or "gunicorn")


def pre_fork(server, worker):
    """Arbiter side: assigns worker.sluice_slot, the smallest slot free among live workers."""
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
    back to sluice_memory's lock-file slots, which are stable too."""
    dsn = os.environ.get("SLUICE_DSN") or os.environ.get("SENTRY_DSN")
    if not dsn:
        return
    service = _service(server)
    slot = getattr(worker, "sluice_slot", None)
    worker_id = os.environ.get("SLUICE_WORKER_ID")
    if not worker_id and slot is not None:
        worker_id = sluice_memory.make_worker_id(service, slot)
    # A sampler inherited from a preloading arbiter restarted itself under a lock-file slot;
    # replace it so the id follows the arbiter's table.
    sluice_memory.stop(flush=False)
    try:
        sluice_memory.start(dsn, worker_id=worker_id, service=service)
    except ValueError as e:
        server.log.warning("sluice_memory not started: %s", e)
