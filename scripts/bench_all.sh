#!/bin/sh
# make bench: scripts/bench.py once for every interpreter present — the
# default python3-embed and each CPython 3.10-3.14 under $PYENV_ROOT — each
# against its own build, one after another (never beside a build), then
# the goal checks of all of them together.  BENCH_ROUNDS passes through.
# Each interpreter also gets the "scale" section (scripts/bench_scale.py:
# exit work, profile size, readers); BENCH_SCALE=0 leaves it out.
cd "$(dirname "$0")/.." || exit 1
root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
summary=$(mktemp)
run() {  # $1: PYTHON_CONFIG or "" for the default
    out=$(mktemp)
    if [ -n "$1" ]; then
        make -s -j2 PYTHON_CONFIG="$1" >/dev/null && make -s bench-one PYTHON_CONFIG="$1" &&
            { [ "${BENCH_SCALE:-1}" = 0 ] || make -s bench-scale PYTHON_CONFIG="$1"; }
    else
        make -s -j2 >/dev/null && make -s bench-one &&
            { [ "${BENCH_SCALE:-1}" = 0 ] || make -s bench-scale; }
    fi | tee "$out"
    grep '^check ' "$out" >>"$summary"
    rm -f "$out"
}
run ""
for v in 3.10 3.11 3.12 3.13 3.14; do
    c=$(ls -d "$root"/versions/"$v".*/bin/python"$v"-config 2>/dev/null | grep -v 't-config$' | sort -V | tail -1)
    [ -n "$c" ] && run "$c"
done
echo "== every interpreter"
cat "$summary"
rm -f "$summary"
