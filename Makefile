# Coffer — one plain Makefile.  `make run`, `make test`, `make check`.
# Local overrides go in Makefile.local (not committed).

CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
O ?= build

PKGS_BUILD = build-essential pkg-config libssh-dev libconfig-dev \
	libsqlite3-dev libssl-dev zlib1g-dev
PKGS_RUN = openssh-client
PKGS_TEST = openssh-client openssh-server rsync python3-paramiko sqlite3 procps \
	clang-14 libclang-rt-14-dev

LIBS = $(shell pkg-config --libs libssh libconfig sqlite3 libcrypto zlib 2>/dev/null)
WARN = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wno-unused-parameter -Wpointer-arith
HARDEN = -fstack-protector-strong -fPIE
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) \
	$(EXTRA_CFLAGS) -I core -I gateway -MMD -MP
ifeq ($(findstring -fsanitize,$(EXTRA_CFLAGS)),)
ALL_CFLAGS += -D_FORTIFY_SOURCE=2
endif
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS) $(EXTRA_LDFLAGS)

-include Makefile.local

# Quiet build lines; `make V=1` shows the full commands.
ifeq ($(V),1)
Q =
else
Q = @
endif

CORE_SRC = $(sort $(wildcard core/*.c))
GW_SRC = $(sort $(wildcard gateway/*.c gateway/*/*.c))
GW_MAIN = gateway/main.c
ADM_SRC = $(sort $(wildcard admin/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))

CORE_OBJ = $(CORE_SRC:%.c=$(O)/%.o)
GW_OBJ = $(filter-out $(O)/$(GW_MAIN:.c=.o),$(GW_SRC:%.c=$(O)/%.o))
ADM_OBJ = $(ADM_SRC:%.c=$(O)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
FUZZ_REPLAY = $(FUZZ_SRC:tests/fuzz/%.c=$(O)/tests/replay_%)

BINS = $(O)/cofferd $(O)/coffer $(O)/sftp-engine $(O)/exec-engine

.PHONY: all run test check fuzz bench lint install uninstall clean deps \
	deps-test format unit

all: $(BINS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/libcore.a: $(CORE_OBJ)
	$(Q)$(AR) rcs $@ $^

$(O)/libgw.a: $(GW_OBJ)
	$(Q)$(AR) rcs $@ $^

$(O)/cofferd: $(O)/gateway/main.o $(O)/libgw.a $(O)/libcore.a
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The SFTP engine on stdin/stdout, for `sftp -D` tests (no network).
$(O)/sftp-engine: $(O)/tests/lib/sftp_engine_main.o $(O)/libgw.a $(O)/libcore.a
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The exec front ends (scp, rsync) on stdin/stdout, for tests.
$(O)/exec-engine: $(O)/tests/lib/exec_main.o $(O)/libgw.a $(O)/libcore.a
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(O)/coffer: $(ADM_OBJ) $(O)/libcore.a
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/test_%: $(O)/tests/unit/test_%.o $(O)/libgw.a $(O)/libcore.a
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/replay_%: $(O)/tests/fuzz/%.o $(O)/tests/fuzz/replay_main.o \
		$(O)/libgw.a $(O)/libcore.a
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

unit: $(UNIT_BIN) $(FUZZ_REPLAY)

# Install the Debian packages a step needs, only when missing.
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
define apt_install
	@missing=""; for p in $(1); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
			$$missing >/dev/null || exit 1; fi
endef

deps:
	$(call apt_install,$(PKGS_BUILD) $(PKGS_RUN))

deps-test:
	$(call apt_install,$(PKGS_BUILD) $(PKGS_TEST))

run: deps
	@$(MAKE) --no-print-directory all
	@O=$(O) sh tests/lib/demo.sh

test: deps-test
	@$(MAKE) --no-print-directory all unit
	@O=$(O) sh tests/run.sh

check: deps-test
	@$(MAKE) --no-print-directory O=build/asan CC=gcc \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" CFLAGS="-O1 -g" \
		all unit
	@O=build/asan COFFER_SANITIZED=1 \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		sh tests/run.sh

FUZZ_CC = clang-14
fuzz: deps-test
	@mkdir -p $(O)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -I core -I gateway \
		-fsanitize=fuzzer,address,undefined -o $(O)/fuzz/$$n $$f \
		$(filter-out gateway/main.c,$(GW_SRC)) $(CORE_SRC) $(LIBS) || exit 1; \
		echo "running $$n for $${FUZZ_SECONDS:-60}s"; \
		mkdir -p tests/fuzz/corpus/$$n; \
		$(O)/fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-60} \
			tests/fuzz/corpus/$$n || exit 1; done

bench: all
	@O=$(O) sh tests/bench/bench.sh

lint:
	cppcheck --quiet --enable=warning,performance,portability \
		--error-exitcode=1 -I core core gateway admin
	clang-tidy-14 $(CORE_SRC) $(GW_SRC) $(ADM_SRC) -- $(ALL_CFLAGS)

format:
	clang-format -i core/*.[ch] gateway/*.[ch] admin/*.[ch] tests/unit/*.c

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)/etc/coffer
	install -m 755 $(O)/cofferd $(DESTDIR)$(PREFIX)/sbin/cofferd
	install -m 755 $(O)/coffer $(DESTDIR)$(PREFIX)/bin/coffer
	[ -f $(DESTDIR)/etc/coffer/coffer.conf ] || \
		install -m 644 conf/coffer.conf $(DESTDIR)/etc/coffer/coffer.conf
	install -d $(DESTDIR)/lib/systemd/system
	install -m 644 conf/cofferd.service $(DESTDIR)/lib/systemd/system/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/cofferd $(DESTDIR)$(PREFIX)/bin/coffer \
		$(DESTDIR)/lib/systemd/system/cofferd.service

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)
