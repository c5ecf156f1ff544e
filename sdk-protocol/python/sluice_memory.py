"""sluice_memory: reports this process's memory to sluice (POST /api/{project_id}/memory/).

Standard library only. A daemon thread samples RSS (/proc/self/statm), PSS/USS
(/proc/self/smaps_rollup) and optionally the top growing tracemalloc sites every `interval`
seconds, batches the samples and posts them gzip'd with the project's Sentry DSN key. It never
raises into the host program: failures are logged once per kind on the "sluice_memory" logger.

    import sluice_memory
    sluice_memory.start("https://KEY@sluice.example.com/3", service="shop")

Settings are the same everywhere (start(), the gunicorn hooks, the Django app): keyword
arguments, over sluice_memory.configure(...), over environment variables (ENV_SETTINGS).

Protocol and integrations (gunicorn hooks, Django app "sluice_memory.django"):
see sdk-protocol/README.md.
"""
import atexit
import email.utils
import gzip
import hashlib
import itertools
import json
import logging
import os
import random
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque

__version__ = "0.1.0"
__all__ = ["start", "stop", "flush", "configure", "settings", "add_requests", "get_sampler",
           "parse_dsn", "Sampler", "BadDsn", "make_worker_id"]

log = logging.getLogger("sluice_memory")

MAX_BATCH = 1000             # samples per request (protocol limit)
MAX_TOP = 50                 # top_allocations per sample (protocol limit)
MAX_SITE = 500               # bytes per allocation site
MAX_STRING = 200             # bytes per worker.id / host / service / release
MAX_AGE = 6.5 * 86400        # older samples are dropped: the server refuses > 7 days
MAX_BACKOFF = 300.0          # seconds between retries at most
INT_MAX = 2 ** 53            # protocol integer range
CLIENT = "sluice-memory-python/" + __version__


class BadDsn(ValueError):
    pass


def parse_dsn(dsn):
    """Returns (endpoint_url, public_key, project_id) for a Sentry DSN
    `scheme://key[:secret]@host[:port]/[path/]project_id`, the way sentry-sdk reads it."""
    parts = urllib.parse.urlsplit(str(dsn).strip())
    if parts.scheme not in ("http", "https"):
        raise BadDsn("unsupported scheme %r" % parts.scheme)
    if not parts.hostname:
        raise BadDsn("missing hostname")
    if not parts.username:
        raise BadDsn("missing public key")
    try:
        port = parts.port
    except ValueError:
        raise BadDsn("invalid port")
    path, _, project = parts.path.rpartition("/")
    if not project.isdigit():
        raise BadDsn("invalid project id %r" % project)
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = "[%s]" % host
    if port is not None and (parts.scheme, port) not in (("http", 80), ("https", 443)):
        host = "%s:%d" % (host, port)
    url = "%s://%s%s/api/%d/memory/" % (parts.scheme, host, path, int(project))
    return url, urllib.parse.unquote(parts.username), int(project)


# --- reading memory -------------------------------------------------------------------------

try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):
    _PAGE = 4096


def read_rss(path="/proc/self/statm"):
    """Resident set size in bytes, or None where /proc is not available."""
    try:
        with open(path, "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def read_smaps_rollup(path="/proc/self/smaps_rollup"):
    """(pss_bytes, uss_bytes) from smaps_rollup (Linux >= 4.14), or (None, None)."""
    fields = {}
    try:
        with open(path, "rb") as f:
            for line in f:
                name, _, rest = line.partition(b":")
                if name in (b"Pss", b"Private_Clean", b"Private_Dirty"):
                    fields[name] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None, None
    if b"Pss" not in fields:
        return None, None
    uss = None
    if b"Private_Clean" in fields and b"Private_Dirty" in fields:
        uss = fields[b"Private_Clean"] + fields[b"Private_Dirty"]
    return fields[b"Pss"], uss


def _read_int_file(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None  # "max": no limit
    v = int(text)
    return v if 0 < v < INT_MAX else None  # v1 says "no limit" with a huge number


def read_cgroup_limit(root="/sys/fs/cgroup", proc_cgroup="/proc/self/cgroup"):
    """The memory limit of this process's cgroup (v2 memory.max, else v1
    memory.limit_in_bytes) in bytes, or None when there is none or it cannot be read."""
    rel = ""
    try:
        with open(proc_cgroup) as f:
            for line in f:
                hid, _, rest = line.strip().partition(":")
                ctrls, _, p = rest.partition(":")
                if hid == "0" and ctrls == "":
                    rel = p.lstrip("/")
    except OSError:
        pass
    candidates = []
    if rel:
        candidates.append(os.path.join(root, rel, "memory.max"))
    candidates += [os.path.join(root, "memory.max"),
                   os.path.join(root, "memory", "memory.limit_in_bytes")]
    for path in candidates:
        v = _read_int_file(path)
        if v is not None:
            return v
    return None


def process_started_at():
    """When this process started, Unix seconds: /proc/self/stat starttime + boot time, so that
    it is the same however often it is computed; the current time where /proc is missing."""
    try:
        with open("/proc/self/stat", "rb") as f:
            after_comm = f.read().rsplit(b")", 1)[1].split()
        ticks = int(after_comm[19])  # field 22 of stat(5); after_comm starts at field 3
        with open("/proc/stat", "rb") as f:
            btime = next(int(l.split()[1]) for l in f if l.startswith(b"btime "))
        return round(btime + ticks / float(os.sysconf("SC_CLK_TCK")), 2)
    except (OSError, ValueError, IndexError, StopIteration):
        return round(time.time(), 2)


# --- worker ids ----------------------------------------------------------------------------

def _clean(s, limit):
    """s without control characters, cut to `limit` bytes of UTF-8 on a character boundary."""
    s = "".join(c for c in str(s) if not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F))
    return s.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _program_name():
    arg0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    name = os.path.basename(arg0)
    if name.endswith(".py"):
        name = name[:-3]
    if name == "__main__":  # python -m package
        name = os.path.basename(os.path.dirname(arg0))
    return name if name and name not in ("-c", "-m") else "python"


def make_worker_id(service, slot, host=None):
    """`{host}/{service}-{slot}`, at most 200 bytes (the service part is shortened)."""
    host = _clean(host or socket.gethostname() or "localhost", 100)
    tail = "-%s" % slot
    room = MAX_STRING - len(host.encode()) - 1 - len(tail)
    return "%s/%s%s" % (host, _clean(service or _program_name(), room), tail)


_slot_fd = None


def claim_slot(base, directory=None, max_slots=4096):
    """The smallest n for which this process can hold an exclusive flock on
    `{tmp}/sluice-memory-{hash(base)}-{n}.lock`. The lock dies with the process, so the next
    process of a pool takes the slot again: ids stay stable across recycling. 0 where flock
    does not exist."""
    global _slot_fd
    try:
        import fcntl
    except ImportError:
        return 0
    directory = directory or tempfile.gettempdir()
    tag = hashlib.sha1(("%s|%s" % (base, os.getuid())).encode()).hexdigest()[:16]
    for n in range(max_slots):
        path = os.path.join(directory, "sluice-memory-%s-%d.lock" % (tag, n))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _release_slot()
        _slot_fd = fd
        return n
    return 0


def _release_slot():
    global _slot_fd
    if _slot_fd is not None:
        try:
            os.close(_slot_fd)
        except OSError:
            pass
        _slot_fd = None


def default_worker_id(service=None):
    """SLUICE_WORKER_ID, else `{hostname}/{service or program}-{slot}` with the slot from
    SLUICE_WORKER_SLOT or claim_slot()."""
    env = os.environ.get("SLUICE_WORKER_ID")
    if env:
        return _clean(env, MAX_STRING)
    host = socket.gethostname() or "localhost"
    name = service or _program_name()
    slot = os.environ.get("SLUICE_WORKER_SLOT")
    if slot is None or not slot.isdigit():
        slot = claim_slot("%s/%s" % (host, name))
    return make_worker_id(name, slot, host)


# --- requests counter --------------------------------------------------------------------

_requests_lock = threading.Lock()
_requests = None


def add_requests(n=1):
    """Counts n more requests (or tasks) served by this process, reported as requests_total."""
    global _requests
    with _requests_lock:
        _requests = (_requests or 0) + n


# --- tracemalloc -----------------------------------------------------------------------------

class _AllocTracker(object):
    """The top N allocation sites by growth between consecutive snapshots."""

    def __init__(self, top):
        import tracemalloc
        self.tm = tracemalloc
        self.top = min(int(top), MAX_TOP)
        if not tracemalloc.is_tracing():
            tracemalloc.start(1)
        self.prev = self._snapshot()

    def _snapshot(self):
        tm = self.tm
        return tm.take_snapshot().filter_traces((tm.Filter(False, tm.__file__),
                                                 tm.Filter(False, __file__)))

    def sample(self):
        cur = self._snapshot()
        stats = [s for s in cur.compare_to(self.prev, "lineno") if s.size_diff > 0]
        self.prev = cur
        stats.sort(key=lambda s: s.size_diff, reverse=True)
        out = []
        for s in stats[:self.top]:
            frame = s.traceback[0]
            site = "%s:%d" % (frame.filename, frame.lineno)
            if len(site.encode("utf-8", "replace")) > MAX_SITE:  # keep the informative end
                site = "..." + site.encode("utf-8", "replace")[-(MAX_SITE - 3):].decode(
                    "utf-8", "ignore")
            out.append({"site": _clean(site, MAX_SITE) or "?", "size_bytes": s.size,
                        "count": s.count, "size_diff_bytes": s.size_diff})
        return out

    def heap_bytes(self):
        return self.tm.get_traced_memory()[0] if self.tm.is_tracing() else None


# --- the sampler -----------------------------------------------------------------------------

def _retry_after(value):
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class Sampler(object):
    """Samples on a daemon thread and posts batches. Use start() rather than this directly."""

    def __init__(self, dsn, worker_id=None, interval=10.0, memory_limit_bytes=None,
                 service=None, release=None, tracemalloc_top=0, batch_size=6, max_queue=2000,
                 timeout=10.0):
        self.url, self.key, self.project_id = parse_dsn(dsn)
        if not interval > 0:
            raise ValueError("interval must be > 0")
        self.interval = float(interval)
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH))
        self.max_queue = max(int(max_queue), self.batch_size)
        self.timeout = float(timeout)
        self.service = _clean(service, MAX_STRING) if service else None
        self.release = _clean(release, MAX_STRING) if release else None
        if isinstance(memory_limit_bytes, str):
            memory_limit_bytes = parse_size(memory_limit_bytes)
        if memory_limit_bytes is None:
            memory_limit_bytes = read_cgroup_limit()
        self.memory_limit_bytes = int(memory_limit_bytes) if memory_limit_bytes else None
        self.tracemalloc_top = int(tracemalloc_top or 0)
        self._explicit_id = _clean(worker_id, MAX_STRING) if worker_id else None
        self._thread = None
        self._warned = set()
        self._init_life()

    def _init_life(self):
        """Per-process state: called at construction and again in a forked child."""
        self.pid = os.getpid()
        self.started_at = process_started_at()
        self.host = _clean(socket.gethostname() or "", MAX_STRING) or None
        self.worker_id = self._explicit_id or default_worker_id(self.service)
        self._queue = deque(maxlen=self.max_queue)
        self._lock = threading.Lock()       # guards _queue
        self._send_lock = threading.Lock()  # one request at a time
        self._stop = threading.Event()
        self._backoff = 0.0
        self._next_send = 0.0               # time.monotonic() before which we do not send
        self._retry_until = 0.0             # ... nor even at exit: the server's Retry-After
        self._tracker = _AllocTracker(self.tracemalloc_top) if self.tracemalloc_top > 0 else None

    # -- lifecycle
    def start(self):
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sluice-memory", daemon=True)
            self._thread.start()
        return self

    def alive(self):
        return self._thread is not None and self._thread.is_alive() and self.pid == os.getpid()

    def stop(self, flush=True, timeout=2.0):
        """Stops the thread; with flush, takes a last sample and sends what is pending, giving
        up after about `timeout` seconds."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=min(timeout, 1.0))
        if flush and self.pid == os.getpid():
            self.sample_once()
            self.flush(timeout=timeout, ignore_backoff=True)

    def _run(self):
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.sample_once()
                if len(self._queue) >= self.batch_size and time.monotonic() >= self._next_send:
                    self.flush(timeout=self.timeout)
            except Exception as e:  # never let the thread die on a surprise
                self._warn("loop", "sampler error: %r" % (e,))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    # -- sampling
    def take_sample(self):
        """One sample dict, or None when RSS cannot be read on this platform."""
        rss = read_rss()
        if rss is None:
            self._warn("rss", "cannot read /proc/self/statm: not sampling")
            return None
        s = {"timestamp": round(time.time(), 3), "rss_bytes": rss}
        pss, uss = read_smaps_rollup()
        if pss is not None:
            s["pss_bytes"] = pss
        if uss is not None:
            s["uss_bytes"] = uss
        if _requests is not None:
            s["requests_total"] = _requests
        if self._tracker is not None:
            heap = self._tracker.heap_bytes()
            if heap is not None:
                s["heap_bytes"] = heap
            top = self._tracker.sample()
            if top:
                s["top_allocations"] = top
        return s

    def sample_once(self):
        s = self.take_sample()
        if s is not None:
            with self._lock:
                self._queue.append(s)  # a full deque drops the oldest
        return s

    def pending(self):
        return len(self._queue)

    # -- sending
    def payload(self, samples):
        worker = {"id": self.worker_id, "pid": self.pid, "started_at": self.started_at}
        for k in ("host", "service", "release", "memory_limit_bytes"):
            v = getattr(self, k)
            if v:
                worker[k] = v
        return json.dumps({"worker": worker, "samples": samples},
                          separators=(",", ":")).encode("utf-8")

    def _post(self, samples, timeout):
        """Returns (status, retry_after seconds or None); status None on a network error."""
        body = gzip.compress(self.payload(samples), 6)
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": CLIENT,
            "X-Sentry-Auth": "Sentry sentry_key=%s, sentry_version=7, sentry_client=%s"
                             % (self.key, CLIENT)})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                r.read(65536)
                return r.status, None
        except urllib.error.HTTPError as e:
            detail = e.read(2048).decode("utf-8", "replace")
            if 400 <= e.code < 500 and e.code != 429:
                self._warn(e.code, "server refused samples (%d): %s" % (e.code, detail))
            return e.code, _retry_after(e.headers.get("Retry-After"))
        except (urllib.error.URLError, OSError, ValueError) as e:
            self._warn("net", "cannot reach %s: %s" % (self.url, e))
            return None, None

    def flush(self, timeout=5.0, ignore_backoff=False):
        """Sends pending samples in batches of up to 1000 until none is left (True) or a
        request fails (False; the samples stay queued for a retry)."""
        deadline = time.monotonic() + timeout
        if not self._send_lock.acquire(timeout=max(0.0, timeout)):
            return False
        try:
            while True:
                now = time.monotonic()
                if (now >= deadline or now < self._retry_until
                        or (now < self._next_send and not ignore_backoff)):
                    return not self._queue
                with self._lock:
                    cutoff = time.time() - MAX_AGE
                    while self._queue and self._queue[0]["timestamp"] < cutoff:
                        self._queue.popleft()
                    batch = list(itertools.islice(self._queue, 0, MAX_BATCH))
                if not batch:
                    return True
                status, retry_after = self._post(batch, max(0.5, min(self.timeout,
                                                                     deadline - now)))
                if status is None or status == 429 or status >= 500:
                    self._backoff = min(MAX_BACKOFF, max(1.0, self._backoff * 2))
                    wait = self._backoff * (0.5 + random.random() / 2)
                    self._next_send = time.monotonic() + max(wait, retry_after or 0.0)
                    if retry_after:
                        self._retry_until = time.monotonic() + retry_after
                    return False
                # 2xx: stored. 4xx: the batch can never succeed: drop it.
                with self._lock:
                    for s in batch:
                        if self._queue and self._queue[0] is s:
                            self._queue.popleft()
                if status in (401, 403):
                    self._backoff = MAX_BACKOFF
                    self._next_send = time.monotonic() + MAX_BACKOFF
                    return False
                self._backoff = 0.0
                self._next_send = 0.0
        finally:
            self._send_lock.release()

    def apply(self, opts):
        """Takes the settings that can change while sampling from opts (a settings() dict)."""
        if "interval" in opts and float(opts["interval"]) > 0:
            self.interval = float(opts["interval"])
        if "memory_limit_bytes" in opts:
            v = opts["memory_limit_bytes"]
            self.memory_limit_bytes = (parse_size(v) if isinstance(v, str) else int(v)) or None
        if "release" in opts:
            self.release = _clean(opts["release"], MAX_STRING) or None
        if "batch_size" in opts:
            self.batch_size = max(1, min(int(opts["batch_size"]), MAX_BATCH))
        if "timeout" in opts:
            self.timeout = float(opts["timeout"])
        top = int(opts.get("tracemalloc_top") or 0)
        if top > 0 and self._tracker is None:
            self.tracemalloc_top = top
            self._tracker = _AllocTracker(top)

    def _warn(self, kind, msg):
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning("sluice_memory: %s", msg)


# --- settings --------------------------------------------------------------------------------

_SIZE_UNITS = {"": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 1000 ** 2,
               "mib": 1 << 20, "g": 1 << 30, "gb": 1000 ** 3, "gib": 1 << 30}


def parse_size(text):
    """Bytes from "536870912", "512M", "512MiB", "0.5G" or "500MB" (K/M/G are binary); a
    ValueError otherwise."""
    t = str(text).strip().lower().replace(" ", "")
    num = t.rstrip("kmgib")
    unit = t[len(num):]
    if unit not in _SIZE_UNITS or not num:
        raise ValueError("not a size: %r" % (text,))
    v = float(num) * _SIZE_UNITS[unit]
    if not 0 < v < INT_MAX:
        raise ValueError("size out of range: %r" % (text,))
    return int(v)


def _positive_float(text):
    v = float(text)
    if not v > 0:
        raise ValueError("must be > 0: %r" % (text,))
    return v


# Setting -> (environment variable, parser). SLUICE_WORKER_SLOT is read where ids are made.
ENV_SETTINGS = {
    "dsn": ("SLUICE_DSN", str),
    "service": ("SLUICE_SERVICE", str),
    "release": ("SLUICE_RELEASE", str),
    "memory_limit_bytes": ("SLUICE_MEMORY_LIMIT", parse_size),
    "interval": ("SLUICE_INTERVAL", _positive_float),
    "tracemalloc_top": ("SLUICE_TRACEMALLOC_TOP", int),
    "worker_id": ("SLUICE_WORKER_ID", str),
}
_OPTIONS = ("dsn", "worker_id", "interval", "memory_limit_bytes", "service", "release",
            "tracemalloc_top", "batch_size", "max_queue", "timeout")
_configured = {}
_env_warned = set()


def _from_env():
    out = {}
    for name, (var, parse) in ENV_SETTINGS.items():
        raw = os.environ.get(var, "").strip()
        if not raw:
            continue
        try:
            out[name] = parse(raw)
        except ValueError as e:
            if var not in _env_warned:
                _env_warned.add(var)
                log.warning("sluice_memory: ignoring %s: %s", var, e)
    return out


def settings(**explicit):
    """The settings start() would use: explicit keyword arguments (None values skipped) over
    configure() over the environment (ENV_SETTINGS)."""
    out = _from_env()
    out.update(_configured)
    out.update((k, v) for k, v in explicit.items() if v is not None)
    return out


def configure(**options):
    """Sets options for every later start() in this process (and in processes forked from it),
    the same names as start()'s. A running sampler takes interval, memory_limit_bytes, release,
    tracemalloc_top, batch_size and timeout at once. An unknown name is a TypeError."""
    bad = sorted(set(options) - set(_OPTIONS))
    if bad:
        raise TypeError("unknown sluice_memory option(s): %s" % ", ".join(bad))
    for k, v in options.items():
        if v is None:
            _configured.pop(k, None)
        else:
            _configured[k] = v
    s = _sampler
    if s is not None and s.alive():
        s.apply(settings())


# --- module-level API ------------------------------------------------------------------------

_sampler = None
_global_lock = threading.Lock()


def start(dsn=None, **options):
    """Starts sampling this process (see Sampler for options; each defaults to configure()'s,
    then to its environment variable, dsn to $SLUICE_DSN). Returns the sampler, the running one
    if already started, or None without a DSN."""
    global _sampler
    with _global_lock:
        if _sampler is not None and _sampler.alive():
            return _sampler
        opts = settings(dsn=dsn, **options)
        dsn = opts.pop("dsn", None)
        if not dsn:
            log.debug("sluice_memory: no DSN, not sampling")
            return None
        _sampler = Sampler(dsn, **opts).start()
        return _sampler


def stop(flush=True, timeout=2.0):
    """Stops the sampler (sending what is pending when flush). Safe when not started."""
    global _sampler
    with _global_lock:
        s, _sampler = _sampler, None
    if s is not None:
        s.stop(flush=flush, timeout=timeout)


def flush(timeout=5.0):
    s = _sampler
    return s.flush(timeout=timeout, ignore_backoff=True) if s is not None else True


def get_sampler():
    return _sampler


def _at_exit():
    s = _sampler
    if s is not None and s.pid == os.getpid():
        s.stop(flush=True, timeout=2.0)


def _after_fork_in_child():
    """The thread did not survive the fork and the parent's samples are not ours: start a new
    life with a new slot. A sampler with an explicit worker id stays off in the child, since
    two processes must not share one id."""
    global _sampler, _global_lock, _requests_lock, _requests
    _global_lock = threading.Lock()
    _requests_lock = threading.Lock()
    _requests = None
    _release_slot()
    _configured.pop("worker_id", None)  # an id is one process's: the child makes its own
    s = _sampler
    if s is None:
        return
    if s._explicit_id or os.environ.get("SLUICE_WORKER_ID"):
        _sampler = None
        return
    try:
        s._thread = None
        s._init_life()
        s.start()
    except Exception as e:
        _sampler = None
        log.warning("sluice_memory: cannot restart after fork: %r", e)


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# --- Django: INSTALLED_APPS = [..., "sluice_memory.django"] ----------------------------------

_django_config = None


def _on_request_finished(sender, **kwargs):
    add_requests(1)


def _make_django_config():
    from django.apps import AppConfig

    class SluiceMemoryConfig(AppConfig):
        """Starts the sampler when Django is ready: DSN from settings.SLUICE_DSN or the
        SLUICE_DSN environment variable; settings.SLUICE_MEMORY = {...} adds start() options.
        Both go through configure(), so a sampler the gunicorn hooks started takes them too."""
        name = __name__
        label = "sluice_memory"
        verbose_name = "sluice memory sampler"

        def ready(self):
            from django.conf import settings as dj
            from django.core.signals import request_finished
            opts = dict(getattr(dj, "SLUICE_MEMORY", None) or {})
            if getattr(dj, "SLUICE_DSN", None):
                opts["dsn"] = dj.SLUICE_DSN
            try:
                configure(**opts)
                if not start():
                    return
            except (ValueError, TypeError) as e:
                log.warning("sluice_memory: not started: %s", e)
                return
            request_finished.connect(_on_request_finished, dispatch_uid="sluice_memory.requests")

    return SluiceMemoryConfig


def __getattr__(name):
    """Makes "sluice_memory.django" resolve to the AppConfig (built only when asked for, so
    that this module does not need Django)."""
    global _django_config
    if name == "django":
        if _django_config is None:
            _django_config = _make_django_config()
        return _django_config
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
