# proxy-llm — top-level Makefile. See README.md.
#   make            build every program into bin/
#   make test       install what is missing, build, run every test
#   make run        the main job: the relay with capture on
#   make bench      the benchmark (bench/run)
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
DATADIR  = $(PREFIX)/share/proxy-llm
VERSION  = 0.1.0

CC      ?= cc
PKGS     = libmicrohttpd jansson libcurl yaml-0.1 libsystemd openssl zlib libarchive libsodium hiredis libzstd libbrotlidec
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(CI),true)
WARN    += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD    = build-san
else
BUILD    = build
endif
CPPFLAGS += -D_GNU_SOURCE -Ilib -DPLLM_VERSION=\"$(VERSION)\"
# a write past a stack array ends the process instead of corrupting it
HARDEN   = -fstack-protector-strong
ALL_CFLAGS = -std=c11 $(WARN) $(HARDEN) $(CFLAGS) $(CPPFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ljq -lm -lpthread

# lib/ and lib/*/ make one static library linked by every program
LIB_SRC  = $(wildcard lib/*.c lib/*/*.c)
LIB_HDR  = $(wildcard lib/*.h lib/*/*.h)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA     = $(BUILD)/libpllm.a

# every llm-*/ folder with a main.c is a program: llm-x/*.c → bin/llm-x
PROGRAMS = $(patsubst %/main.c,%,$(wildcard llm-*/main.c))
BINS     = $(PROGRAMS:%=bin/%)

MOCK_SRC = $(wildcard test/mock/*.c)
MOCK     = $(BUILD)/test/mock-upstream
FUZZ_SRC = $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:test/fuzz/%.c=build-fuzz/%)
FUZZ_TIME ?= 30
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE -Ilib -Illm-relay $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
RELAY_LIB_SRC = $(filter-out llm-relay/main.c,$(wildcard llm-relay/*.c))
BENCH_SRC = $(wildcard bench/mock/*.c)
BENCH_MOCK = $(BUILD)/bench/bench-mock

UNIT_SRC = $(wildcard test/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/unit/%)

.PHONY: all deps test check unit run install uninstall clean bench lint-man fuzz
all: $(BINS) $(MOCK)

# bin/ holds the programs of the last build (normal or sanitizer)
bin/%: $(BUILD)/%/prog
	@mkdir -p bin
	cp $< $@.tmp && mv -f $@.tmp $@   # a new file: a running copy (make run) keeps its own

define PROGRAM_template
$(BUILD)/$(1)/prog: $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)) $(LIBA)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBA) $$(LIBS)
$(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)): $(wildcard $(1)/*.h)
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_template,$(p))))

$(BUILD)/llm-stats/prices.o: llm-stats/prices.yaml

$(BUILD)/%.o: %.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(MOCK): $(MOCK_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $(MOCK_SRC) -lz -lzstd -lbrotlienc -lm

$(BENCH_MOCK): $(BENCH_SRC) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(BENCH_SRC) $(LIBA) $(LIBS)

$(BUILD)/test/unit/%: test/unit/%.c $(LIBA) $(wildcard llm-*/*.c llm-*/*.h test/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBA) $(LIBS) -lbrotlienc -lcmocka

unit: $(UNIT_BIN)

deps:
	@sh bin/pllm-deps

test check: deps
	$(MAKE) all unit $(BENCH_MOCK)
	BUILD=$(BUILD) sh test/run

run: deps
	$(MAKE) all
	BUILD=$(BUILD) sh bin/pllm-run

bench: deps
	$(MAKE) all $(BENCH_MOCK)
	BUILD=$(BUILD) sh bench/run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)
	for p in $(PROGRAMS); do install -m 755 bin/$$p $(DESTDIR)$(BINDIR)/$$p; done
	for m in man/*.1; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in man/*.5; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in man/*.7; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/; done
	install -m 644 lib/capture.schema.json $(DESTDIR)$(DATADIR)/
	[ -f llm-stats/prices.yaml ] && install -m 644 llm-stats/prices.yaml $(DESTDIR)$(DATADIR)/ || true

uninstall:
	for p in $(PROGRAMS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in man/*.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$${m#man/}; done
	for m in man/*.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$${m#man/}; done
	rm -rf $(DESTDIR)$(DATADIR)

# libFuzzer targets (clang): each runs FUZZ_TIME seconds from its corpus
build-fuzz/fuzz_request: test/fuzz/fuzz_request.c $(LIB_SRC) $(RELAY_LIB_SRC) $(LIB_HDR)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(RELAY_LIB_SRC) $(LIBS)

build-fuzz/fuzz_%: test/fuzz/fuzz_%.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LIBS)

fuzz: deps
	$(MAKE) $(FUZZ_BIN)
	for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	  [ -d test/fuzz/seeds/$$n ] && cp -n test/fuzz/seeds/$$n/* build-fuzz/corpus-$$n/ 2>/dev/null; \
	  $$f -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 build-fuzz/corpus-$$n || exit 1; done

lint-man:
	mandoc -Tlint -Wwarning man/*.[157]

clean:
	rm -rf build build-san build-fuzz $(BINS)
