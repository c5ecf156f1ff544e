#!/usr/bin/python3
"""Labeled synthetic memory series for the leak detector, in the format of
shared/leak-dev/workers.jsonl (see its README). Deterministic: the same --seed gives the same
file. Deliberately broader than the dev set: sampling every 10-60 s, noise 0.2-3 %, leak rates
0.5-20 %/h, warm-ups and cache fills with varied time constants, log-like growth, deploy steps
with and without restarts, diurnal cycles, OOM-killed bursts, recycling with and without leaks,
staircase leaks and long gaps.

usage: gen.py [--seed N] [--count N] OUT.jsonl[.gz]
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
        self.leak, self.t0 = kind in LEAK, None
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

    # ---- the value at time t ----
    def value(self, t, life, life_start):
        k, age = self.kind, t - life_start
        v = self.base * (1 + self.warm_amp * (1 - math.exp(-age / self.warm_tau)))
        if k == "log_growth":
            v += self.base * self.log_a * math.log(1 + age / self.log_c)
        if k == "cache_fill" and t > self.fill_t:
            v += self.base * self.fill_a * (1 - math.exp(-(t - self.fill_t) / self.fill_tau))
        if k == "deploy_step":
            v *= (1 + self.step_a) ** sum(1 for r in self.restarts if r <= t)
        if k == "step_in_life" and t > self.step_t:
            v += self.base * self.step_a
        if k in ("sawtooth", "leak_sawtooth"):
            v += self.saw_a * ((t / self.saw_p) % 1.0)
        if k in ("diurnal", "leak_diurnal"):
            v += self.di_a * math.sin(2 * math.pi * t / 86400 + self.di_ph)
        if k == "flat_ou":
            v += self.ou
        if self.leak and self.t0 is not None:
            if k == "leak_recycled":
                v += self.rate * age
            elif k == "leak_after_deploy":
                if life > 0:
                    v += self.rate * max(0.0, age - 600)
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
            if self.kind == "flat_ou":
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
    a = ap.parse_args()
    rng = random.Random(a.seed)
    opener = gzip.open if a.out.endswith(".gz") else open
    with opener(a.out, "wt") as f:
        n = 0
        for rep in range(a.count):
            for kind in NONLEAK + LEAK:
                w = Series(random.Random(rng.getrandbits(64)), kind, "g%03d-%s" % (n, kind)).build()
                f.write(json.dumps(w, separators=(",", ":")) + "\n")
                n += 1


if __name__ == "__main__":
    main()
