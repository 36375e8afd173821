/*
 * sources.h - the source text of the lines of the functions that ran,
 * read at the end of the run into the profile (p->sources, see
 * reports/model/sourcetext.h), so that annotate and the HTML page show
 * the code as it was after the file changed or on another machine.
 *
 * A file is read as Python reads source: its encoding from a BOM or a
 * coding cookie (UTF-8 without), lines ended by \n, \r\n or \r.  A name
 * that is no readable regular file (`<string>`, a deleted file) takes
 * the text linecache holds for it, if the program put some there;
 * otherwise its functions have no text.  Bounded: a line is cut at
 * SRC_LINE_MAX bytes, a file over SRC_FILE_MAX is not read, and the text
 * of all lines stops at SRC_TOTAL_MAX bytes (OPPROF_SOURCE_LIMIT=BYTES
 * sets another bound): past it, functions are taken hottest first and
 * p->sources_omitted counts those left out.
 */
#ifndef OPPROF_SOURCES_H
#define OPPROF_SOURCES_H

#include "../reports/model/profile.h"

#define SRC_LINE_MAX 500
#define SRC_FILE_MAX ((size_t)64 << 20)
#define SRC_TOTAL_MAX ((size_t)4 << 20)

/* Fills p->sources for p->functions (names, code and measures set).
 * Needs the GIL and runs no code of the program's (only codecs for a file
 * in another encoding than UTF-8).  0, or -1 when out of memory. */
int src_capture(pf_profile *p);

#endif
