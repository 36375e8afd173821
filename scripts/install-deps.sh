#!/bin/sh
# Installs what opprof needs to build and test on Debian/Ubuntu.
set -e
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential pkg-config python3-dev libcmocka-dev libunwind-dev libjansson-dev \
    libxml2-utils valgrind
