/*
 * children_int.h - internal to children.c and children_parts.c: the run's
 * folder and this process's identity, which children.c keeps.
 */
#ifndef OPPROF_CHILDREN_INT_H
#define OPPROF_CHILDREN_INT_H

#include <stddef.h>

const char *ch__dir(void);   /* the run's folder */
const char *ch__out(void);   /* the parent's profile; "" for a stream */
long ch__pid(void);          /* this process (a signal's writer is a fork of it) */
void ch__launcher_path(char *buf, size_t n);

#endif
