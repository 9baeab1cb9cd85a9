# redbench -- build, tests, demo and benchmarks. `make help` lists the targets.

CC       ?= cc
OPT      ?= -O2 -g
BUILD    ?= build
SAN      ?=
CPPFLAGS += -D_GNU_SOURCE -I. -Ilib -Irunner -Icollector -Ianalyzer -DRB_WEBDIR='"$(CURDIR)/web"'
CFLAGS   += -std=c11 -Wall -Wextra -Werror $(OPT) $(SAN)
LDFLAGS  += $(SAN)
LDLIBS    = -lsqlite3 -lmicrohttpd -lcjson -lhiredis -lpthread -lm

# Debian packages the build, the demo and the tests need (README.md says why each).
DEB_PKGS = gcc make libc6-dev libsqlite3-dev libmicrohttpd-dev libcjson-dev libhiredis-dev \
           redis-server redis-tools sqlite3 curl python3
# The dashboard's browser tests (tests/e2e/test_dashboard.sh) drive Debian's chromium.
DEB_PKGS += chromium
# `redbench lab` and tests/e2e/test_lab.sh create network namespaces with ip (iproute2).
DEB_PKGS += iproute2

LIB_SRC  = $(wildcard lib/*.c)
APP_SRC  = $(wildcard runner/*.c collector/*.c analyzer/*.c) main.c
MIGR     = $(sort $(wildcard migrations/*.sql))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/migrations.o
APP_OBJ  = $(APP_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HDRS     = $(wildcard lib/*.h runner/*.h collector/*.h analyzer/*.h) commands.h
# The analyzer's objects, linked into benches and unit tests beside the core.
ANALYZER_OBJ = $(BUILD)/analyzer/analyze.o $(BUILD)/analyzer/rules.o $(BUILD)/analyzer/thresholds.o \
               $(BUILD)/analyzer/changepoint.o

.PHONY: all deps test test-only asan leakcheck demo bench schema clean help

all: $(BUILD)/redbench
	@ln -sf $(BUILD)/redbench redbench

help:
	@echo "make            build ./redbench"
	@echo "make deps       install missing Debian packages (as root) or print the command"
	@echo "make demo       local redis-server + collector + runs; prints the dashboard URL"
	@echo "make test       unit and end-to-end tests (ends with 'N passed, N failed')"
	@echo "make asan       the same tests under AddressSanitizer + UBSan (+ LeakSanitizer)"
	@echo "make leakcheck  unit tests under valgrind"
	@echo "make fuzz       libFuzzer on run-JSON validation (FUZZ_SECONDS, default 60)"
	@echo "make bench      redbench vs redis-benchmark side by side (bench/RESULTS.md)"
	@echo "make schema     regenerate schema.sql from migrations/"

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done | tr '\n' ' '); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "deps: apt-get failed"; exit 1; }; \
	else \
	  echo "deps: missing packages: $$missing"; \
	  echo "deps: run as root:  apt-get install -y $$missing"; exit 1; \
	fi

$(BUILD)/redbench: $(APP_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/migrations.c: $(MIGR) scripts/embed-migrations.sh
	@mkdir -p $(BUILD)
	sh scripts/embed-migrations.sh $(MIGR) > $@

$(BUILD)/migrations.o: $(BUILD)/migrations.c lib/store.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Unit tests link the core and the few modules they test beyond it.
UNIT_OBJ = $(LIB_OBJ) $(ANALYZER_OBJ) $(BUILD)/runner/import.o $(BUILD)/runner/upload.o

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_OBJ) tests/unit/testhelp.h tests/unit/testdb.h $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_OBJ) $(LDLIBS)

# The scenario driver of tests/e2e/test_scenarios.sh: every object but main.o.
DRIVER_OBJ = $(filter-out $(BUILD)/main.o,$(APP_OBJ)) $(LIB_OBJ)
$(BUILD)/scenario_driver: tests/scenario_driver.c $(DRIVER_OBJ) $(HDRS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(DRIVER_OBJ) $(LDLIBS)


test: deps
	@$(MAKE) --no-print-directory test-only

test-only: $(BUILD)/redbench $(UNIT_BIN) $(BUILD)/scenario_driver
	@sh tests/run.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test-only

leakcheck: deps $(UNIT_BIN)
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq valgrind >/dev/null; }
	@for t in $(UNIT_BIN); do valgrind -q --error-exitcode=1 --leak-check=full $$t >/dev/null || exit 1; done
	@echo "leakcheck: $(words $(UNIT_BIN)) unit test programs valgrind-clean"

demo: deps $(BUILD)/redbench
	@sh scripts/demo.sh $(BUILD)/redbench

bench: deps $(BUILD)/redbench $(BUILD)/hist_bench $(BUILD)/changepoint_bench $(BUILD)/analyzer_quality
	@sh bench/run.sh $(BUILD)/redbench
	@$(BUILD)/hist_bench | tee -a bench/RESULTS.md
	@$(BUILD)/changepoint_bench | tee -a bench/RESULTS.md
	@$(BUILD)/analyzer_quality | tee -a bench/RESULTS.md
	@sh bench/collector_bench.sh $(BUILD)
	@$(BUILD)/chart_bench | tee -a bench/RESULTS.md
	@sh bench/dashboard_bench.sh $(BUILD)

$(BUILD)/changepoint_bench: bench/changepoint_bench.c $(LIB_OBJ) $(ANALYZER_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(ANALYZER_OBJ) $(LDLIBS)

$(BUILD)/analyzer_quality: bench/analyzer_quality.c $(LIB_OBJ) $(ANALYZER_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(ANALYZER_OBJ) $(LDLIBS)

$(BUILD)/hist_bench: bench/hist_bench.c $(LIB_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

# The dashboard's chart: a 5,000-point series chart rendered by lib/chart.c (bench/chart_bench.c).
bench: $(BUILD)/chart_bench
$(BUILD)/chart_bench: bench/chart_bench.c $(LIB_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

# The collector's ingest and read benchmarks (bench/collector_bench.sh) use these.
bench: $(BUILD)/ingest_loop
$(BUILD)/ingest_loop: bench/ingest_loop.c $(LIB_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

schema: $(BUILD)/redbench
	@rm -f $(BUILD)/schema.db* && $(BUILD)/redbench migrate --db $(BUILD)/schema.db >/dev/null
	@sqlite3 $(BUILD)/schema.db .schema > schema.sql && echo "schema.sql regenerated"

clean:
	rm -rf build build-asan redbench

# libFuzzer target for run-document validation under ASan + UBSan; not part of
# `make test` (tests/fuzz/README.md). New inputs go to $(BUILD)/fuzz-corpus,
# crashes to $(BUILD)/fuzz-crash-*; the seeds in tests/fuzz/corpus stay as they are.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -D_GNU_SOURCE -Ilib -I.

.PHONY: fuzz
fuzz: $(BUILD)/fuzz_run_json
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz_run_json -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz-crash- \
	  $(BUILD)/fuzz-corpus tests/fuzz/corpus

$(BUILD)/fuzz_run_json: tests/fuzz/fuzz_run_json.c $(LIB_SRC) $(BUILD)/migrations.c $(HDRS)
	@command -v $(FUZZ_CC) >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then echo "fuzz: installing clang"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang >/dev/null \
	      || { echo "fuzz: apt-get failed"; exit 1; }; \
	  else echo "fuzz: clang is missing; run as root:  apt-get install -y clang"; exit 1; fi; }
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_run_json.c $(LIB_SRC) $(BUILD)/migrations.c \
	  -lcjson -lsqlite3 -lm -lpthread
