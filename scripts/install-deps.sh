#!/bin/sh
# Installs what opprof needs to build and test on Debian/Ubuntu.  Safe to
# run again: what is there already is left alone.
#   --build   only what `make` needs (the Makefile runs this by itself when
#             a package is missing); without it, the tests' tools too
set -e
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
# libprotobuf-c-dev, protobuf-c-compiler: pprof's output (protoc-c makes
# its encoders from reports/pprof/profile.proto at build time)
BUILD_PACKAGES="build-essential pkg-config python3-dev libcmocka-dev libunwind-dev libjansson-dev zlib1g-dev
                libprotobuf-c-dev protobuf-c-compiler"
if [ "${1:-}" = --build ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        $BUILD_PACKAGES >/dev/null
    exit 0
fi
# man-db, groff-base: the test that renders opprof(1) with man --warnings;
# bash-completion: the test of the completion function; golang-go: `go tool
# pprof` reads the pprof outputs in the tests; python3-coverage: coverage.py's
# two tracers under opprof (Debian's python3).
# the flame-graph tests: Debian's chromium (headless) and node; npm only
# where no node is installed yet (a node from elsewhere brings its own)
BROWSER="chromium fonts-dejavu-core"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || BROWSER="$BROWSER nodejs npm"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    $BUILD_PACKAGES libxml2-utils valgrind man-db groff-base bash-completion golang-go \
    python3-coverage $BROWSER >/dev/null

# npm packages for the tests only (never for building opprof): speedscope
# (its viewer and its file-format schema), ajv-cli (validates against the
# schema), playwright-core (drives chromium: page errors, DOM, downloads).
# Pinned, so that a test run means the same thing next year.
NPM_PACKAGES="speedscope@1.25.0 ajv-cli@5.0.0 playwright-core@1.65.1"
root=$(npm root -g)
missing=
for p in $NPM_PACKAGES; do
    name=${p%@*}
    version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/$name/package.json" 2>/dev/null || true)
    [ "$version" = "${p##*@}" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO npm install -g --no-fund --no-audit --loglevel=error $missing >/dev/null
fi
