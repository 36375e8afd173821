/*
 * pymain.c - python's own main, linked against the libpython opprof
 * embeds: `make bench` runs the floor (floor.c) in it, so that the floor
 * and opprof run the same interpreter library.  (Debian's /usr/bin/python3
 * links its interpreter in statically, built without -fPIC: the same code
 * runs ~10% faster there than in libpython3.X.so, which opprof uses.)
 */
#include <Python.h>

int main(int argc, char **argv)
{
    return Py_BytesMain(argc, argv);
}
