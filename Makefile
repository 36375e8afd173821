# opprof - one Makefile.
#   make                 build $(BUILDDIR)/opprof against the default python3-embed
#   make PYTHON_CONFIG=$PYENV_ROOT/versions/3.12.1/bin/python3.12-config
#   make test            unit + end-to-end tests; last line "N passed, N failed"
#   make demo | bench (every interpreter present; bench-one, bench-scale: this build) | valgrind | clean
#   make install [PREFIX=/usr/local DESTDIR=]   the binary, opprof(1), bash completion; make uninstall
#   make SANITIZE=address,undefined test

CC      ?= cc
comma   := ,
SANITIZE ?=
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wno-missing-field-initializers
STD     := -std=c11 -D_GNU_SOURCE

# A fresh Debian/Ubuntu machine: the build packages are installed here,
# once, in one line (apt-get, through sudo when not root).
MISSING := $(shell command -v pkg-config >/dev/null 2>&1 || echo pkg-config; \
             command -v protoc-c >/dev/null 2>&1 || echo protoc-c; \
             for p in jansson zlib libunwind cmocka libprotobuf-c $(if $(PYTHON_CONFIG),,python3-embed); do \
               pkg-config --exists $$p 2>/dev/null || echo $$p; done)
ifneq ($(strip $(MISSING)),)
  $(info opprof: installing the missing build packages ($(strip $(MISSING))) with apt-get: scripts/install-deps.sh --build)
  INSTALL_LOG := $(shell scripts/install-deps.sh --build >/tmp/opprof-install-deps.log 2>&1 || echo failed)
  ifneq ($(INSTALL_LOG),)
    $(error installing failed: see /tmp/opprof-install-deps.log)
  endif
endif

# `make test` on a fresh machine: the tests' tools too (xmllint, chromium,
# node and the pinned npm viewers, man, go for `go tool pprof`), once,
# before any rule runs (so once under -j2 as well).
ifneq ($(filter test valgrind,$(MAKECMDGOALS)),)
  TEST_MISSING := $(shell for c in xmllint chromium node npm man valgrind go python3-coverage; do \
                    command -v $$c >/dev/null 2>&1 || echo $$c; done; \
                    root=$$(npm root -g 2>/dev/null); \
                    for p in speedscope ajv-cli playwright-core; do \
                      [ -n "$$root" ] && [ -d "$$root/$$p" ] || echo $$p; done)
  ifneq ($(strip $(TEST_MISSING)),)
    $(info opprof: installing what the tests use ($(strip $(TEST_MISSING))) with apt-get and npm: scripts/install-deps.sh)
    TEST_INSTALL_LOG := $(shell scripts/install-deps.sh >/tmp/opprof-install-deps.log 2>&1 || echo failed)
    ifneq ($(TEST_INSTALL_LOG),)
      $(error installing failed: see /tmp/opprof-install-deps.log)
    endif
  endif
endif

ifeq ($(PYTHON_CONFIG),)
  ifneq ($(shell pkg-config --exists python3-embed 2>/dev/null && echo ok),ok)
    $(error python3-embed not found: run `scripts/install-deps.sh` (apt-get install python3-dev pkg-config libcmocka-dev libunwind-dev))
  endif
  PY_INCLUDES := $(shell pkg-config --cflags python3-embed)
  PY_LDFLAGS  := $(shell pkg-config --libs python3-embed)
  PY_VER      := $(shell pkg-config --modversion python3-embed)
  PY_PREFIX   := $(shell pkg-config --variable=prefix python3-embed)
  BUILD_TAG   :=
else
  ifeq ($(wildcard $(PYTHON_CONFIG)),)
    $(error PYTHON_CONFIG=$(PYTHON_CONFIG) does not exist)
  endif
  PY_INCLUDES := $(shell $(PYTHON_CONFIG) --includes)
  PY_LDFLAGS  := $(shell $(PYTHON_CONFIG) --ldflags --embed)
  PY_VER      := $(patsubst -lpython%,%,$(filter -lpython%,$(PY_LDFLAGS)))
  PY_PREFIX   := $(shell $(PYTHON_CONFIG) --prefix)
  BUILD_TAG   := /py$(PY_VER)
endif
ifneq ($(filter %t,$(PY_VER)),)
  $(error Python $(PY_VER) is a free-threaded build: opprof's counters are not atomic, use a regular build)
endif
PYTHON_EXE := $(PY_PREFIX)/bin/python$(PY_VER)
PY_RPATH   := $(patsubst -L%,-Wl$(comma)-rpath$(comma)%,$(filter -L%,$(PY_LDFLAGS)))

ifneq ($(SANITIZE),)
  SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
  # CPython frees little at exit by design: leak reports would be its own
  export ASAN_OPTIONS ?= detect_leaks=0
  export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
  BUILD_TAG := $(BUILD_TAG)/san-$(subst $(comma),-,$(SANITIZE))
endif
BUILDDIR ?= build$(BUILD_TAG)

CPPFLAGS += -MMD -MP
ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) $(SANFLAGS)

PROFILER_SRC := profiler/main.c profiler/cli.c profiler/cli_usage.c profiler/commands.c profiler/host.c profiler/children.c profiler/children_parts.c profiler/pyconfig.c profiler/forms.c profiler/store.c \
                profiler/codeinfo.c profiler/opsload.c profiler/blockmap.c profiler/scope.c profiler/snapshot.c profiler/nodepass.c \
                profiler/sources.c \
                profiler/collector_common.c profiler/collector_trace.c profiler/trace_guest.c \
                profiler/collector_monitor.c profiler/hookfn.c profiler/monview.c profiler/sampler.c profiler/sclock.c \
                profiler/nstack.c \
                profiler/crash.c profiler/native.c profiler/nmerge.c profiler/runout.c profiler/listing.c \
                profiler/explain_cmd.c
MODEL_SRC    := reports/model/profile.c reports/model/measures.c reports/model/nodes.c reports/model/strtab.c \
                reports/model/profile_json.c reports/model/profile_v1w.c reports/model/profile_v2w.c \
                reports/model/profile_v2w_pieces.c reports/model/profile_v2w_sites.c \
                reports/model/profile_v2w_src.c reports/model/sourcetext.c \
                reports/model/profile_read.c reports/model/profile_read_native.c reports/model/profile_read_v2.c \
                reports/model/profile_read_v2_cols.c reports/model/profile_read_v2_tree.c reports/model/profile_read_v2_code.c \
                reports/model/profile_read_v2_src.c \
                reports/model/jsonpull.c reports/model/jsonpull_src.c \
                reports/model/merge.c reports/model/merge_fn.c reports/model/merge_proc.c reports/model/disasm.c reports/model/opcodes_tables.c \
                reports/model/codepack.c
PPROF_SRC    := reports/pprof.c reports/pprof_native.c reports/pprof_tables.c
REPORTS_SRC  := $(MODEL_SRC) reports/jsonw.c reports/outfile.c reports/diff.c \
                reports/diff_text.c reports/diff_markdown.c reports/diff_json.c reports/annotate.c \
                reports/report_text.c reports/report_processes.c reports/report_bars.c \
                reports/flame.c reports/flame_tree.c reports/flame_process.c reports/flame_native.c reports/flame_save.c reports/folded.c reports/speedscope.c \
                reports/html.c reports/explorer.c reports/explorer_fn.c reports/glossary.c reports/explain.c reports/wrap.c reports/report_legend.c \
                reports/findings.c reports/findings_view.c reports/findings_loops.c reports/report_findings.c reports/report_specialize.c reports/specialize.c \
                $(PPROF_SRC)

# the HTML page's script and style, compiled in (reports/html.c): the page
# and the binary need no file of ours at run time
HTML_ASSETS := $(BUILDDIR)/gen/html_assets.c
# the opcode glossary (reports/glossary/*.txt), checked and turned into C
GLOSSARY_TXT  := $(sort $(wildcard reports/glossary/*.txt))
GLOSSARY_DATA := $(BUILDDIR)/gen/glossary_data.c
# pprof's messages (reports/pprof/profile.proto), their C made by protoc-c
PPROF_PB   := $(BUILDDIR)/gen/profile.pb-c.c
PPROF_PB_H := $(BUILDDIR)/gen/profile.pb-c.h
OBJ := $(patsubst %.c,$(BUILDDIR)/obj/%.o,$(PROFILER_SRC) $(REPORTS_SRC)) \
       $(BUILDDIR)/obj/gen/html_assets.o $(BUILDDIR)/obj/gen/glossary_data.o \
       $(BUILDDIR)/obj/gen/profile.pb-c.o
OPPROF := $(BUILDDIR)/opprof

.PHONY: all test unit e2e demo bench bench-one bench-scale valgrind clean check-pycompat \
        install uninstall
all: $(OPPROF)

JANSSON_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS   := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
UNWIND_CFLAGS  := $(shell pkg-config --cflags libunwind 2>/dev/null)
UNWIND_LIBS    := $(shell pkg-config --libs libunwind 2>/dev/null || echo -lunwind)
PROTOBUF_C_CFLAGS := $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
PROTOBUF_C_LIBS   := $(shell pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)

# PyEval_SetTrace is opprof's own for C extensions (profiler/trace_guest.h)
$(OPPROF): $(OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PY_LDFLAGS) $(PY_RPATH) -Wl,--export-dynamic-symbol=PyEval_SetTrace \
	  $(JANSSON_LIBS) $(UNWIND_LIBS) $(PROTOBUF_C_LIBS) -lz -ldl -lm $(SANFLAGS)

# profiler/ needs libpython's headers; reports/ must build without them.
$(BUILDDIR)/obj/profiler/%.o: profiler/%.c
	@mkdir -p $(dir $@)
	@pkg-config --exists libunwind || { echo "libunwind not found: run scripts/install-deps.sh (apt-get install libunwind-dev)" >&2; exit 1; }
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(PY_INCLUDES) $(UNWIND_CFLAGS) \
	  -DOPPROF_PYTHON_EXE='"$(PYTHON_EXE)"' -DOPPROF_PY_VERSION='"$(PY_VER)"' -c -o $@ $<
$(BUILDDIR)/obj/reports/%.o: reports/%.c
	@mkdir -p $(dir $@)
	@pkg-config --exists jansson || { echo "jansson not found: run scripts/install-deps.sh (apt-get install libjansson-dev)" >&2; exit 1; }
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(JANSSON_CFLAGS) -c -o $@ $<

$(HTML_ASSETS): reports/html/flame.js reports/html/flame.css reports/html/explorer.js \
                reports/html/explorer.css
	@mkdir -p $(dir $@)
	@{ echo '/* generated by the Makefile from reports/html/: do not edit */'; \
	  for a in js:reports/html/flame.js css:reports/html/flame.css \
	           explorer_js:reports/html/explorer.js explorer_css:reports/html/explorer.css; do \
	    echo "const unsigned char fl_html_$${a%%:*}[] = {"; \
	    od -An -v -tx1 "$${a#*:}" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	    echo '0};'; \
	  done; } > $@.tmp && mv $@.tmp $@
$(GLOSSARY_DATA): scripts/gen_glossary.py $(GLOSSARY_TXT)
	@mkdir -p $(dir $@)
	@$(PYTHON_EXE) scripts/gen_glossary.py $@ $(GLOSSARY_TXT)
# one protoc-c run makes both files (a pattern rule's targets are made together)
$(BUILDDIR)/gen/%.pb-c.c $(BUILDDIR)/gen/%.pb-c.h: reports/pprof/%.proto
	@mkdir -p $(dir $@)
	@command -v protoc-c >/dev/null || { echo "protoc-c not found: run scripts/install-deps.sh (apt-get install protobuf-c-compiler)" >&2; exit 1; }
	@pkg-config --exists libprotobuf-c || { echo "libprotobuf-c not found: run scripts/install-deps.sh (apt-get install libprotobuf-c-dev)" >&2; exit 1; }
	protoc-c --proto_path=reports/pprof --c_out=$(BUILDDIR)/gen $<
$(patsubst %.c,$(BUILDDIR)/obj/%.o,$(PPROF_SRC)): $(PPROF_PB_H)
$(patsubst %.c,$(BUILDDIR)/obj/%.o,$(PPROF_SRC)): CPPFLAGS += -I$(BUILDDIR)/gen $(PROTOBUF_C_CFLAGS)
$(BUILDDIR)/obj/gen/%.o: $(BUILDDIR)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I. $(PROTOBUF_C_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# --- unit tests: one cmocka binary per unit, no libpython -----------------
CMOCKA_FLAGS = $(shell pkg-config --cflags --libs cmocka 2>/dev/null || echo -lcmocka)
UNITS := store store_stacks store_counts scope jsonw jsonw_profile jsonw_save outfile cli \
         blockmap blockmap_flow blockmap_checks nstack sclock diff_render diff diff_gate merge runmerge \
         sourcetext profile_read profile_read_errors fuzz_read report_text annotate flame flame_tree \
         pprof nmerge disasm disasm_listing jsonpull jsonpull_io jsonpull_fuzz glossary specialize processes
unit_src_store := profiler/store.c
unit_src_store_stacks := $(unit_src_store)
unit_src_store_counts := $(unit_src_store)
unit_src_scope := profiler/scope.c reports/model/profile.c reports/model/measures.c reports/model/nodes.c
unit_src_jsonw := reports/jsonw.c reports/outfile.c $(MODEL_SRC)
unit_src_jsonw_profile := $(unit_src_jsonw)
unit_src_jsonw_save := $(unit_src_jsonw)
unit_src_outfile := reports/outfile.c
unit_src_cli   := profiler/cli.c profiler/cli_usage.c reports/diff.c reports/specialize.c reports/model/opcodes_tables.c reports/model/profile.c reports/model/measures.c \
                  reports/model/nodes.c
unit_src_blockmap := profiler/blockmap.c
unit_src_blockmap_flow := $(unit_src_blockmap)
unit_src_blockmap_checks := $(unit_src_blockmap)
unit_src_nmerge := profiler/nmerge.c
unit_src_disasm := reports/model/disasm.c reports/model/opcodes_tables.c reports/model/codepack.c
unit_src_disasm_listing := $(unit_src_disasm)
unit_src_jsonpull := reports/model/jsonpull.c reports/model/jsonpull_src.c
unit_src_jsonpull_io := $(unit_src_jsonpull)
unit_src_jsonpull_fuzz := $(unit_src_jsonpull)
unit_src_nstack := profiler/nstack.c
unit_src_sclock := profiler/sclock.c
unit_src_diff  := reports/specialize.c reports/diff.c reports/outfile.c reports/jsonw.c $(MODEL_SRC)
unit_src_diff_gate := $(unit_src_diff)
unit_src_merge := $(unit_src_diff)
unit_src_runmerge := $(unit_src_diff)
unit_src_specialize := $(unit_src_diff)
unit_src_sourcetext := $(unit_src_diff)
unit_src_profile_read := $(unit_src_diff)
unit_src_profile_read_errors := $(unit_src_diff)
unit_src_fuzz_read := $(unit_src_diff)
GLOSSARY_SRC := reports/glossary.c reports/explain.c reports/wrap.c $(GLOSSARY_DATA)
unit_src_glossary := $(GLOSSARY_SRC)
unit_src_annotate := reports/annotate.c reports/outfile.c reports/jsonw.c $(MODEL_SRC) $(GLOSSARY_SRC)
unit_src_report_text := reports/report_text.c reports/report_processes.c reports/report_bars.c reports/report_legend.c \
                  reports/findings.c reports/findings_view.c reports/findings_loops.c \
                  reports/report_findings.c reports/report_specialize.c reports/specialize.c reports/model/profile.c \
                  reports/model/measures.c reports/model/nodes.c reports/model/disasm.c \
                  reports/model/opcodes_tables.c reports/model/codepack.c $(GLOSSARY_SRC)
unit_src_flame := reports/flame.c reports/flame_tree.c reports/flame_process.c reports/flame_native.c reports/flame_save.c reports/folded.c reports/speedscope.c \
                  reports/html.c reports/explorer.c reports/explorer_fn.c reports/report_text.c reports/report_processes.c reports/report_bars.c reports/report_legend.c \
                  reports/findings.c reports/findings_view.c reports/findings_loops.c \
                  reports/report_findings.c reports/report_specialize.c reports/specialize.c reports/jsonw.c reports/outfile.c $(MODEL_SRC) $(HTML_ASSETS) $(GLOSSARY_SRC) \
                  $(PPROF_SRC) $(PPROF_PB)
unit_src_flame_tree := $(unit_src_flame)
unit_src_pprof := $(unit_src_flame)
unit_src_processes := $(unit_src_flame)
unit_src_diff_render := reports/diff_text.c reports/diff_markdown.c reports/diff_json.c reports/jsonw.c
UNIT_BINS := $(patsubst %,$(BUILDDIR)/tests/test_%,$(UNITS))

.SECONDEXPANSION:
# one compiler call per test over several sources: -MMD would keep only
# the last one's headers, so every header counts
$(BUILDDIR)/tests/test_%: tests/unit/test_%.c $$(unit_src_$$*) $(wildcard tests/unit/*.h) \
                          $(wildcard profiler/*.h reports/*.h reports/model/*.h)
	@mkdir -p $(dir $@)
	@pkg-config --exists cmocka || { echo "cmocka not found: run scripts/install-deps.sh (apt-get install libcmocka-dev)" >&2; exit 1; }
	$(CC) -I. -I$(BUILDDIR)/gen $(ALL_CFLAGS) $(UNWIND_CFLAGS) $(PROTOBUF_C_CFLAGS) -o $@ $(filter %.c,$^) $(CMOCKA_FLAGS) $(JANSSON_LIBS) $(UNWIND_LIBS) $(PROTOBUF_C_LIBS) -lz -ldl -lm $(SANFLAGS)

test: $(OPPROF) $(UNIT_BINS) check-pycompat
	@OPPROF=$(OPPROF) PYTHON_EXE=$(PYTHON_EXE) UNIT_BINS="$(UNIT_BINS)" \
	  VALGRIND="$(VALGRIND)" sh tests/run_tests.sh

# Every PY_VERSION_HEX test lives in profiler/pycompat.h, and report
# writers never touch libpython.
check-pycompat:
	@! grep -n PY_VERSION_HEX $(filter-out profiler/pycompat.h,$(wildcard profiler/*.[ch] reports/*.[ch] reports/model/*.[ch])) \
	  || { echo "PY_VERSION_HEX outside profiler/pycompat.h" >&2; exit 1; }
	@! grep -n 'Python.h\|pycompat.h' $(wildcard reports/*.[ch] reports/model/*.[ch]) \
	  || { echo "reports/ must not use libpython" >&2; exit 1; }

valgrind: $(OPPROF) $(UNIT_BINS)
	@OPPROF=$(OPPROF) PYTHON_EXE=$(PYTHON_EXE) UNIT_BINS="$(UNIT_BINS)" \
	  VALGRIND="valgrind -q --error-exitcode=99 --leak-check=no --suppressions=$(CURDIR)/tests/valgrind.supp" PYTHONMALLOC=malloc \
	  E2E_QUICK=1 FUZZ_CASES=1000 sh tests/run_tests.sh

# the binary, opprof(1) and bash completion under $(DESTDIR)$(PREFIX)
PREFIX ?= /usr/local
install: $(OPPROF)
	@sh scripts/install/install.sh install "$(OPPROF)" "$(DESTDIR)" "$(PREFIX)"
uninstall:
	@sh scripts/install/install.sh uninstall - "$(DESTDIR)" "$(PREFIX)"

demo: $(OPPROF)
	$(OPPROF) run -o $(BUILDDIR)/demo.json scripts/examples/scope_loop.py
	@echo "profile: $(BUILDDIR)/demo.json"

bench:
	sh scripts/bench_all.sh

# the events' own cost, beside opprof (scripts/bench/floor.c; not the product)
FLOOR := $(BUILDDIR)/bench/opfloor.so
FLOOR_SRC := scripts/bench/floor.c profiler/opsload.c profiler/blockmap.c profiler/hookfn.c
$(FLOOR): $(FLOOR_SRC) profiler/pycompat.h profiler/opsload.h profiler/blockmap.h profiler/hookfn.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -shared $(PY_INCLUDES) -o $@ $(FLOOR_SRC)

PYSHARED := $(BUILDDIR)/bench/pyshared
$(PYSHARED): scripts/bench/pymain.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PY_INCLUDES) -o $@ $< $(PY_LDFLAGS) $(PY_RPATH)

bench-one: $(OPPROF) $(FLOOR) $(PYSHARED)
	@OPPROF=$(OPPROF) OPFLOOR_DIR=$(dir $(FLOOR)) $(PYTHON_EXE) scripts/bench.py

# the profile-size goals: exit work, profile size, readers (scripts/bench_scale.py)
bench-scale: $(OPPROF)
	@OPPROF=$(OPPROF) PYTHON_EXE=$(PYTHON_EXE) $(PYTHON_EXE) scripts/bench_scale.py

clean:
	rm -rf build

-include $(OBJ:.o=.d)
