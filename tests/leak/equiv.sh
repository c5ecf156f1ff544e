#!/bin/sh
# equiv.sh: checks that the working tree's detector decides exactly as the detector (server/memory/leak.c,
# storage/leak.c before the subsystem folders) at REV
# (default HEAD) does. Builds leak_replay twice, with each leak.c, and compares their -t traces
# (every status change of every sample: state, transition, slope, confidence, projection, bit for
# bit) over the dev set, generated sets (seeds 7, 11, 23; robust 5, 13) and the bench-like
# leaking series; the new build's -r trace (save/load round trips) must equal them too.
# A few minutes on two cores. Exit 0 when every trace is identical.
#
# usage: tests/leak/equiv.sh [REV] [DATASET.jsonl.gz ...]   (dev set from $SLUICE_SHARED_DIR)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rev=${1:-HEAD}
[ $# -gt 0 ] && shift
work=$(mktemp -d "${TMPDIR:-/tmp}/leak-equiv.XXXXXX")
trap 'rm -rf "$work"' EXIT
cflags="-O2 -std=c11 -D_GNU_SOURCE -I$root/server -I$root/server/memory"
git -C "$root" show "$rev:server/memory/leak.c" >"$work/leak_old.c" 2>/dev/null ||
  git -C "$root" show "$rev:storage/leak.c" >"$work/leak_old.c"
cc $cflags -o "$work/old" "$here/leak_replay.c" "$work/leak_old.c" -ljansson -lz -lm
cc $cflags -o "$work/new" "$here/leak_replay.c" "$root/server/memory/leak.c" -ljansson -lz -lm

if [ $# -eq 0 ]; then
  dev="${SLUICE_SHARED_DIR:-$root/../shared}/leak-dev/workers.jsonl.gz"
  [ -f "$dev" ] && set -- "$dev"
  for s in 7 11 23; do
    python3 "$here/gen.py" --seed $s --count 4 "$work/g$s.jsonl.gz"
    set -- "$@" "$work/g$s.jsonl.gz"
  done
  for s in 5 13; do
    python3 "$here/gen.py" --seed $s --count 6 --set robust "$work/r$s.jsonl.gz"
    set -- "$@" "$work/r$s.jsonl.gz"
  done
  python3 "$here/bench_series.py" "$work/bench.jsonl.gz"
  set -- "$@" "$work/bench.jsonl.gz"
fi

fail=0
for f in "$@"; do
  "$work/old" "$f" -t >"$work/old.txt" &
  "$work/new" "$f" -t >"$work/new.txt"
  wait
  "$work/new" "$f" -r >"$work/new_r.txt"
  workers=$(grep -c '^W ' "$work/old.txt")
  if cmp -s "$work/old.txt" "$work/new.txt" && cmp -s "$work/old.txt" "$work/new_r.txt"; then
    echo "same  $workers workers, $(wc -l <"$work/old.txt") status changes: $f"
  else
    echo "DIFF  $f"
    diff "$work/old.txt" "$work/new.txt" | head -5 || true
    diff "$work/old.txt" "$work/new_r.txt" | head -5 || true
    fail=1
  fi
done
exit $fail
