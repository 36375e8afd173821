#!/bin/sh
# Build bbprobe for one interpreter, with that interpreter's own compiler and flags.
#   scripts/proto/build.sh [PYTHON]   (default /usr/bin/python3.11)
# The module lands in scripts/proto/build/<version>/bbprobe<EXT_SUFFIX>.
set -eu
PY=${1:-/usr/bin/python3.11}
HERE=$(cd "$(dirname "$0")" && pwd)
eval "$("$PY" - <<'PYEOF'
import sysconfig, shlex
v = sysconfig.get_config_var
for k, val in [("CC", v("CC")), ("CFLAGS", v("CFLAGS") + " " + (v("CCSHARED") or "")),
               ("LDSHARED", v("LDSHARED")), ("INC", sysconfig.get_paths()["include"]),
               ("SUFFIX", v("EXT_SUFFIX")), ("VER", sysconfig.get_python_version())]:
    print(f"{k}={shlex.quote(val)}")
PYEOF
)"
OUT="$HERE/build/$VER"
mkdir -p "$OUT"
$CC $CFLAGS -I"$INC" -c "$HERE/bbprobe.c" -o "$OUT/bbprobe.o"
$LDSHARED "$OUT/bbprobe.o" -o "$OUT/bbprobe$SUFFIX"
echo "$OUT/bbprobe$SUFFIX"
