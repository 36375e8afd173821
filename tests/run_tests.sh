#!/bin/sh
# Runs every test for one build and ends with "N passed, N failed".
# Environment: OPPROF, PYTHON_EXE, UNIT_BINS, VALGRIND (optional).
passed=0
failed=0
for bin in $UNIT_BINS; do
    out=$($VALGRIND "$bin" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1  # crashed or valgrind found an error
    fi
    [ "$f" -ne 0 ] && printf '%s\n' "$out"
    echo "unit $(basename "$bin"): $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
done
e2e=$(OPPROF="$OPPROF" PYTHON_EXE="$PYTHON_EXE" VALGRIND="$VALGRIND" \
      "$PYTHON_EXE" "$(dirname "$0")/e2e/run_e2e.py" 2>&1)
rc=$?
printf '%s\n' "$e2e"
line=$(printf '%s\n' "$e2e" | grep '^e2e: [0-9]* passed' | tail -1)
p=$(echo "$line" | sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
f=$(echo "$line" | sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
[ -z "$p" ] && { p=0; f=1; }
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
passed=$((passed + p))
failed=$((failed + f))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
