#!/bin/sh
# make install / make uninstall: the binary, the man page opprof(1) and the
# bash completion, under DESTDIR + PREFIX.
#   sh scripts/install/install.sh install BINARY DESTDIR PREFIX
#   sh scripts/install/install.sh uninstall - DESTDIR PREFIX
# The binary keeps the rpath the build gave it, so the installed opprof
# finds its libpython as the built one does.
set -eu
action=$1 binary=$2 destdir=$3 prefix=$4
here=$(dirname "$0")
bin=$destdir$prefix/bin/opprof
man=$destdir$prefix/share/man/man1/opprof.1
comp=$destdir$prefix/share/bash-completion/completions/opprof
case $action in
install)
    install -d "$(dirname "$bin")" "$(dirname "$man")" "$(dirname "$comp")"
    install -m 755 "$binary" "$bin"
    install -m 644 "$here/opprof.1" "$man"
    install -m 644 "$here/opprof.bash" "$comp"
    echo "installed $bin, $man, $comp"
    ;;
uninstall)
    rm -f "$bin" "$man" "$comp"
    echo "removed $bin, $man, $comp"
    ;;
*)
    echo "usage: install.sh install|uninstall BINARY DESTDIR PREFIX" >&2
    exit 2
    ;;
esac
