# proxy-llm — top-level Makefile. See README.md.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
DATADIR  = $(PREFIX)/share/proxy-llm

CC      ?= cc
PKGS     = libmicrohttpd jansson libcurl yaml-0.1 libsystemd openssl zlib
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
VERSION  = 0.1.0
CPPFLAGS += -D_GNU_SOURCE -Ilib -DPLLM_VERSION=\"$(VERSION)\"
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(CPPFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA     = $(BUILD)/libpllm.a

PROGRAMS = llm-relay
RELAY_SRC = $(wildcard llm-relay/*.c)
RELAY_OBJ = $(RELAY_SRC:%.c=$(BUILD)/%.o)

MOCK_SRC = $(wildcard test/mock/*.c)
MOCK     = $(BUILD)/test/mock-upstream

UNIT_SRC = $(wildcard test/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/unit/%)

.PHONY: all deps test check unit run install uninstall clean bench lint-man
all: bin/llm-relay $(MOCK)

# bin/ holds the programs of the last build (normal or sanitizer).
bin/llm-relay: $(BUILD)/llm-relay/llm-relay
	@mkdir -p bin
	cp $< $@

$(BUILD)/llm-relay/llm-relay: $(RELAY_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(RELAY_OBJ) $(LIBA) $(LIBS)

$(BUILD)/%.o: %.c $(wildcard lib/*.h) $(wildcard llm-relay/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(MOCK): $(MOCK_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $(MOCK_SRC) -lz -lm

$(BUILD)/test/unit/%: test/unit/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBA) $(LIBS) -lcmocka

unit: $(UNIT_BIN)

deps:
	@sh bin/pllm-deps

test check: deps
	$(MAKE) all unit
	BUILD=$(BUILD) sh test/run

run: deps all
	BUILD=$(BUILD) sh bin/pllm-run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)
	for p in $(PROGRAMS); do install -m 755 bin/$$p $(DESTDIR)$(BINDIR)/$$p; done
	for m in man/*.1; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in man/*.5; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in man/*.7; do [ -f $$m ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/ || true; done
	install -m 644 lib/capture.schema.json $(DESTDIR)$(DATADIR)/

uninstall:
	for p in $(PROGRAMS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in man/*.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$${m#man/}; done
	for m in man/*.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$${m#man/}; done
	rm -rf $(DESTDIR)$(DATADIR)

lint-man:
	mandoc -Tlint -Wwarning man/*.[157]

clean:
	rm -rf build build-san bin/llm-relay
