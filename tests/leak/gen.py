#!/usr/bin/python3
"""Labeled synthetic memory series for the leak detector, in the format of
shared/leak-dev/workers.jsonl (see its README). Deterministic: the same --seed gives the same
file. Deliberately broader than the dev set: sampling every 10-60 s, noise 0.2-3 %, leak rates
0.5-20 %/h, warm-ups and cache fills with varied time constants, log-like growth, deploy steps
with and without restarts, diurnal cycles, OOM-killed bursts, recycling with and without leaks,
staircase leaks and long gaps.

--set robust makes other kinds instead, meant to be unseen while tuning: slow OU wander (tau
3-10 h), log growth over long horizons, cache fills that plateau after 3-8 h, business-hours
load cycles, sawtooth with a drifting period, recycling and deploys with long warm-ups; and slow
leaks (0.8-2 %/h), leaks that start mid-life, after a deploy with a warm-up, under a drifting
sawtooth, and recycled leaks with warm-up. The default set is unchanged by these kinds.

usage: gen.py [--seed N] [--count N] [--set default|robust] OUT.jsonl[.gz]
"""
import argparse
import gzip
import json
import math
import random

END = 1700000000.0
H = 3600.0

NONLEAK = ["flat_noise", "flat_ou", "flat_spikes", "flat_gaps", "sawtooth", "warmup", "log_growth",
           "cache_fill", "deploy_step", "step_in_life", "recycling", "oom_burst", "diurnal"]
LEAK = ["leak_linear", "leak_sawtooth", "leak_recycled", "leak_after_deploy", "leak_staircase",
        "leak_diurnal", "leak_slow"]
ROBUST_NONLEAK = ["ou_slow", "log_long", "cache_plateau", "business_hours", "saw_drift",
                  "recycle_warm", "deploy_warm"]
ROBUST_LEAK = ["leak_slow2", "leak_midlife", "leak_deploy_warm", "leak_saw_drift",
               "leak_recycled_warm"]


class Series:
    """Builds one worker: a value function of (t, age of life, life index) and a restart list."""

    def __init__(self, rng, kind, wid):
        self.r, self.kind, self.wid = rng, kind, wid
        r = rng
        self.base = r.uniform(80e6, 1.5e9)
        self.limit = self.base * r.uniform(1.8, 3.5)
        self.hours = r.uniform(24, 40)
        self.dt = r.uniform(10, 60)
        self.noise = self.base * r.uniform(0.002, 0.03)
        self.start = END - self.hours * H
        self.scored_from = self.start
        self.leak, self.t0 = kind in LEAK or kind in ROBUST_LEAK, None
        self.ou_tau = self.saw_p = self.fill_t = None
        self.restarts = []  # times at which a new life starts (besides the first)
        self.extra = []  # (t0, t1, delta) transient spikes
        self.outages = []
        self.warm_amp, self.warm_tau = 0.0, 1.0
        if r.random() < 0.7:  # most processes warm up a little after every start
            self.warm_amp, self.warm_tau = r.uniform(0.02, 0.2), r.uniform(60, 900)
        for _ in range(r.choice([0, 0, 1, 2])):
            a = r.uniform(self.start + H, END - H)
            self.outages.append((a, a + r.uniform(600, 2 * H)))
        getattr(self, "setup_" + kind, lambda: None)()

    # ---- per-class parameters ----
    def setup_flat_ou(self):
        self.ou_tau, self.ou_sd = self.r.uniform(600, 3 * H), self.base * self.r.uniform(0.02, 0.08)

    def setup_flat_spikes(self):
        t = self.start
        while True:
            t += self.r.expovariate(1 / (self.r.uniform(0.3, 2) * H))
            if t > END:
                break
            self.extra.append((t, t + self.r.uniform(30, 400), self.base * self.r.uniform(0.1, 0.8)))

    def setup_flat_gaps(self):
        for _ in range(self.r.randint(2, 4)):
            a = self.r.uniform(self.start + H, END - 5 * H)
            self.outages.append((a, a + self.r.uniform(1, 4) * H))

    def setup_sawtooth(self):
        self.saw_p, self.saw_a = self.r.uniform(90, 1800), self.base * self.r.uniform(0.05, 0.25)

    def setup_warmup(self):
        self.warm_amp, self.warm_tau = self.r.uniform(0.2, 0.8), self.r.uniform(120, 2 * H)

    def setup_log_growth(self):
        self.log_c, self.log_a = self.r.uniform(300, H), self.r.uniform(0.05, 0.15)

    def setup_cache_fill(self):
        self.fill_t = self.r.uniform(self.start + 2 * H, END - 6 * H)
        self.fill_tau, self.fill_a = self.r.uniform(300, 2400), self.r.uniform(0.1, 0.4)

    def setup_deploy_step(self):
        for _ in range(self.r.randint(1, 2)):
            self.restarts.append(self.r.uniform(self.start + 3 * H, END - 3 * H))
        self.restarts.sort()
        self.step_a = self.r.uniform(0.1, 0.5)
        self.limit = max(self.limit, self.base * (1 + self.step_a) ** 2 * 1.6)

    def setup_step_in_life(self):
        self.step_t, self.step_a = self.r.uniform(self.start + 3 * H, END - 3 * H), self.r.uniform(0.1, 0.5)

    def _recycle(self):
        t = self.start + self.r.uniform(0, 1) * H
        while t < END:
            self.restarts.append(t)
            t += self.r.uniform(0.5, 3) * H

    def setup_recycling(self):
        self._recycle()
        self.warm_amp, self.warm_tau = self.r.uniform(0.1, 0.5), self.r.uniform(60, 1200)

    def setup_oom_burst(self):
        t = self.start
        while True:
            t += self.r.uniform(3, 10) * H
            if t > END - H:
                break
            self.extra.append((t, t + self.r.uniform(60, 300), self.limit))  # killed at limit
            self.restarts.append(t + 300)

    def setup_diurnal(self):
        self.hours = self.r.uniform(60, 72)
        self.start = END - self.hours * H
        self.scored_from = self.start + 24 * H
        self.di_a, self.di_ph = self.base * self.r.uniform(0.05, 0.2), self.r.uniform(0, 2 * math.pi)

    def _leak_rate(self, lo=0.01, hi=0.2):
        return self.base * math.exp(self.r.uniform(math.log(lo), math.log(hi))) / H

    def setup_leak_linear(self):
        self.rate = self._leak_rate()
        self.t0 = self.start + (0 if self.r.random() < 0.25 else self.r.uniform(1, 14) * H)

    def setup_leak_slow(self):
        self.rate = self._leak_rate(0.005, 0.015)
        self.hours = self.r.uniform(36, 48)
        self.start = END - self.hours * H
        self.scored_from = self.start
        self.t0 = self.start + self.r.uniform(1, 6) * H

    def setup_leak_sawtooth(self):
        self.setup_sawtooth()
        self.setup_leak_linear()

    def setup_leak_staircase(self):
        self.setup_leak_linear()
        self.stair = self.r.uniform(300, 1800)

    def setup_leak_recycled(self):
        self._recycle()
        self.rate = self._leak_rate(0.03, 0.3)
        self.t0 = self.start

    def setup_leak_after_deploy(self):
        self.restarts.append(self.r.uniform(self.start + 3 * H, END - 14 * H))
        self.rate = self._leak_rate()
        self.t0 = self.restarts[0]

    def setup_leak_diurnal(self):
        self.setup_diurnal()
        self.rate = self._leak_rate(0.01, 0.1)
        self.t0 = self.scored_from + self.r.uniform(0, 8) * H

    # ---- --set robust ----
    def setup_ou_slow(self):  # heap fragmentation wander: slow, large, mean-reverting
        self.hours = self.r.uniform(36, 48)
        self.start = self.scored_from = END - self.hours * H
        self.ou_tau, self.ou_sd = self.r.uniform(3, 10) * H, self.base * self.r.uniform(0.03, 0.1)

    def setup_log_long(self):  # an interpreter's caches: log growth that never quite stops
        self.hours = self.r.uniform(30, 48)
        self.start = self.scored_from = END - self.hours * H
        self.log_c, self.log_a = self.r.uniform(0.5, 2) * H, self.r.uniform(0.05, 0.12)

    def setup_cache_plateau(self):  # a cache that fills after some event and plateaus in 3-8 h
        self.fill_t = self.r.uniform(self.start + 0.2 * H, END - 12 * H)
        self.fill_tau, self.fill_a = self.r.uniform(1, 2.7) * H, self.r.uniform(0.1, 0.4)

    def setup_business_hours(self):  # load that rises in the morning, holds, falls at night
        self.setup_diurnal()
        self.bh_a, self.bh_on = self.base * self.r.uniform(0.05, 0.25), self.r.uniform(6, 10)
        self.bh_len, self.bh_up = self.r.uniform(8, 12), self.r.uniform(1, 3)

    def setup_saw_drift(self):  # GC period follows the load: 2-30 min and back
        self.saw_a = self.base * self.r.uniform(0.05, 0.3)
        self.saw_p, self.saw_mod, self.saw_lp = self.r.uniform(120, 1200), self.r.uniform(0.3, 0.7), \
            self.r.uniform(2, 12) * H
        self._saw_phase, self._saw_t = 0.0, None

    def setup_recycle_warm(self):  # max_requests recycling with warm-ups that last most of a life
        t = self.start + self.r.uniform(0, 1) * H
        while t < END:
            self.restarts.append(t)
            t += self.r.uniform(1, 6) * H
        self.warm_amp, self.warm_tau = self.r.uniform(0.2, 0.6), self.r.uniform(1200, 5400)

    def setup_deploy_warm(self):  # several deploys, each a slow warm-up to a new stable level
        self.setup_deploy_step()
        for _ in range(self.r.randint(1, 2)):
            self.restarts.append(self.r.uniform(self.start + 3 * H, END - 3 * H))
        self.restarts.sort()
        self.step_a = self.r.uniform(0.0, 0.2)
        self.limit = max(self.limit, self.base * (1 + self.step_a) ** 4 * 2.0)
        self.warm_amp, self.warm_tau = self.r.uniform(0.1, 0.4), self.r.uniform(1800, 7200)

    def setup_leak_slow2(self):
        self.rate = self._leak_rate(0.008, 0.02)
        self.hours = self.r.uniform(36, 48)
        self.start = self.scored_from = END - self.hours * H
        self.t0 = self.start + self.r.uniform(1, 10) * H

    def setup_leak_midlife(self):  # a code path that starts leaking hours into a life
        self.rate = self._leak_rate(0.01, 0.05)
        self.t0 = self.start + self.r.uniform(6, 16) * H
        if self.r.random() < 0.5:
            self.saw_p, self.saw_a = self.r.uniform(90, 900), self.base * self.r.uniform(0.05, 0.2)

    def setup_leak_deploy_warm(self):  # a release that leaks, deployed with a warm-up
        self.restarts.append(self.r.uniform(self.start + 4 * H, END - 14 * H))
        self.rate = self._leak_rate(0.01, 0.05)
        self.t0 = self.restarts[0]
        self.warm_amp, self.warm_tau = self.r.uniform(0.05, 0.3), self.r.uniform(300, 2400)

    def setup_leak_saw_drift(self):
        self.setup_saw_drift()
        self.rate = self._leak_rate(0.01, 0.06)
        self.t0 = self.start + self.r.uniform(1, 10) * H

    def setup_leak_recycled_warm(self):
        t = self.start + self.r.uniform(0, 1) * H
        while t < END:
            self.restarts.append(t)
            t += self.r.uniform(1, 4) * H
        self.rate = self._leak_rate(0.03, 0.1)
        self.t0 = self.start
        self.warm_amp, self.warm_tau = self.r.uniform(0.05, 0.3), self.r.uniform(300, 1200)

    def _saw(self, t):
        """Sawtooth phase in [0, 1): a fixed period, or one that drifts with a slow load cycle."""
        if not hasattr(self, "saw_mod"):
            return (t / self.saw_p) % 1.0
        if self._saw_t is not None:  # integrate the instantaneous frequency (t only increases)
            p = self.saw_p * (1 + self.saw_mod * math.sin(2 * math.pi * t / self.saw_lp))
            self._saw_phase += (t - self._saw_t) / p
        self._saw_t = t
        return self._saw_phase % 1.0

    # ---- the value at time t ----
    def value(self, t, life, life_start):
        k, age = self.kind, t - life_start
        v = self.base * (1 + self.warm_amp * (1 - math.exp(-age / self.warm_tau)))
        if k in ("log_growth", "log_long"):
            v += self.base * self.log_a * math.log(1 + age / self.log_c)
        if k in ("cache_fill", "cache_plateau") and t > self.fill_t:
            v += self.base * self.fill_a * (1 - math.exp(-(t - self.fill_t) / self.fill_tau))
        if k in ("deploy_step", "deploy_warm"):
            v *= (1 + self.step_a) ** sum(1 for r in self.restarts if r <= t)
        if k == "step_in_life" and t > self.step_t:
            v += self.base * self.step_a
        if self.saw_p is not None:
            v += self.saw_a * self._saw(t)
        if k in ("diurnal", "leak_diurnal"):
            v += self.di_a * math.sin(2 * math.pi * t / 86400 + self.di_ph)
        if k == "business_hours":
            hod = ((t + self.di_ph / (2 * math.pi) * 86400) % 86400) / H
            x = min(max(hod - self.bh_on, 0) / self.bh_up, 1) - \
                min(max(hod - self.bh_on - self.bh_len, 0) / 1.5, 1)
            v += self.bh_a * x
        if self.ou_tau is not None:
            v += self.ou
        if self.leak and self.t0 is not None:
            if k in ("leak_recycled", "leak_recycled_warm"):
                v += self.rate * age
            elif k == "leak_after_deploy":
                if life > 0:
                    v += self.rate * max(0.0, age - 600)
            elif k == "leak_deploy_warm":
                if life > 0:
                    v += self.rate * age
            elif t > max(self.t0, life_start):
                grow = t - max(self.t0, life_start)
                if k == "leak_staircase":
                    grow = math.floor(grow / self.stair) * self.stair
                v += self.rate * grow
        for a, b, dv in self.extra:
            if a <= t < b:
                v = max(v, dv) if dv >= self.limit else v + dv
        return v

    def build(self):
        r, out, t = self.r, [], self.start
        self.restarts.sort()
        restarts = list(self.restarts)
        life, life_start, self.ou = 0, self.start - r.uniform(60, 3000), 0.0
        lives = [{"pid": r.randint(1000, 60000), "started_at": life_start, "samples": []}]
        last = t
        while t <= END:
            while restarts and restarts[0] <= t:
                life_start = restarts.pop(0)
                life += 1
                lives.append({"pid": lives[-1]["pid"] + r.randint(1, 400), "started_at": life_start,
                              "samples": []})
            if self.ou_tau is not None:
                dt = t - last
                a = math.exp(-dt / self.ou_tau)
                self.ou = self.ou * a + self.ou_sd * math.sqrt(1 - a * a) * r.gauss(0, 1)
            last = t
            v = self.value(t, life, life_start) + r.gauss(0, self.noise)
            # the OOM killer: a life that reaches the limit dies and the slot restarts
            if v >= self.limit and self.kind != "oom_burst":
                life_start, life = t + 5, life + 1
                lives.append({"pid": lives[-1]["pid"] + r.randint(1, 400), "started_at": life_start,
                              "samples": []})
                t += r.uniform(5, 30)
                continue
            down = any(a <= t < b for a, b in self.outages) or r.random() < 0.02
            if not down:
                lives[-1]["samples"].append([round(t, 3), int(max(v, 1e6))])
            t += self.dt * r.uniform(0.8, 1.2)
        lives = [l for l in lives if l["samples"]]
        return {"worker": self.wid, "class": self.kind, "leak": self.leak,
                "t0": self.t0, "base": int(self.base), "limit": int(self.limit),
                "scored_from": self.scored_from, "incarnations": lives}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--count", type=int, default=2, help="workers per class")
    ap.add_argument("--set", choices=("default", "robust"), default="default")
    a = ap.parse_args()
    kinds = NONLEAK + LEAK if a.set == "default" else ROBUST_NONLEAK + ROBUST_LEAK
    rng = random.Random(a.seed)
    opener = gzip.open if a.out.endswith(".gz") else open
    with opener(a.out, "wt") as f:
        n = 0
        for rep in range(a.count):
            for kind in kinds:
                w = Series(random.Random(rng.getrandbits(64)), kind, "g%03d-%s" % (n, kind)).build()
                f.write(json.dumps(w, separators=(",", ":")) + "\n")
                n += 1


if __name__ == "__main__":
    main()
