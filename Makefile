# SPDX-License-Identifier: GPL-2.0-or-later
# fph: thin wrapper around scripts/ and Meson.  See README.md.
#
#   make demo    build everything, boot a guest with fph, show it working
#   make check   build everything and run every test suite
#
# Both install what they need (apt-get, as root) and are idempotent.

BUILD ?= build
PREFIX ?= /usr/local
SHELL := /bin/bash

.PHONY: all deps qemu build guest image check demo install clean checkpatch lint

all: build

deps:
	scripts/setup-apt.sh

# Patched QEMU, cached outside the checkout (scripts/build-qemu.sh), of
# one of the lines patches/qemu/ carries a series for: QEMU=10.2 builds
# $(BUILD) against 10.2 (default: the line patches/qemu/default names).
QEMU ?= $(notdir $(realpath patches/qemu/default))
QEMU_LINES := $(shell ls -d patches/qemu/[0-9]* | xargs -n1 basename | sort -V)
OTHER_QEMU_LINES := $(filter-out $(QEMU),$(QEMU_LINES))
NEWEST_QEMU_LINE := $(lastword $(QEMU_LINES))
$(BUILD)/qemu.env: deps FORCE
	@mkdir -p $(BUILD)
	scripts/build-qemu.sh $(QEMU) > $@.tmp
	@if ! cmp -s $@.tmp $@; then mv $@.tmp $@; else rm -f $@.tmp; fi

qemu: $(BUILD)/qemu.env

build: $(BUILD)/qemu.env
	scripts/meson-build.sh $(BUILD)

guest: deps
	$(MAKE) -C guest

image: build guest
	FPH_GUEST_KO=$(CURDIR)/guest/virtio_fph.ko \
	FPH_WORKLOAD=$(CURDIR)/$(BUILD)/tools/workload/fph-workload \
	  scripts/build-guest-image.sh $(BUILD)/guest

# The Debian packages (debian/, scripts/build-deb.sh), in $(BUILD)/deb:
# fph-qemu (the emulator and the module under /opt/fph), fph-guest-dkms and
# fph-guest-tools (the page-cache reclaim helper), for this machine's
# release.  SUITE=trixie (another release scripts/release.sh supports):
# built in a chroot of that release, in $(BUILD)/deb-trixie.
# tests/package installs them in a throwaway chroot and migrates with them;
# make check builds the other releases' too (deb-releases: Debian 13's on
# Debian 12, FPH_PACKAGE_SUITES of scripts/release.sh).
HOST_RELEASE := $(shell sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
SUITE ?=
.PHONY: deb deb-releases
deb: $(if $(filter-out $(HOST_RELEASE),$(SUITE)),,build)
	SUITE=$(SUITE) FPH_QEMU_LINE=$(QEMU) scripts/build-deb.sh $(BUILD)

# The other releases' packages carry the newest QEMU line, this release's
# the default one: make check installs both (tests/package).
deb-releases:
	set -e; eval "$$(scripts/release.sh)"; \
	for s in $$FPH_PACKAGE_SUITES; do $(MAKE) deb SUITE=$$s QEMU=$(NEWEST_QEMU_LINE); done

# The project built against each other QEMU line, in $(BUILD)/qemu-LINE;
# make check runs the suite each-qemu there (the qtests, e2e-migration,
# e2e-faults and QEMU's own migration-test) with $(BUILD)'s guest image.
.PHONY: qemu-lines
qemu-lines: deps guest
	set -e; for l in $(OTHER_QEMU_LINES); do \
	  mkdir -p $(BUILD)/qemu-$$l; \
	  scripts/build-qemu.sh $$l > $(BUILD)/qemu-$$l/qemu.env.tmp; \
	  if ! cmp -s $(BUILD)/qemu-$$l/qemu.env.tmp $(BUILD)/qemu-$$l/qemu.env; then \
	    mv $(BUILD)/qemu-$$l/qemu.env.tmp $(BUILD)/qemu-$$l/qemu.env; \
	  else rm -f $(BUILD)/qemu-$$l/qemu.env.tmp; fi; \
	  scripts/meson-build.sh $(BUILD)/qemu-$$l $(CURDIR)/$(BUILD)/guest; \
	done

# The Debian 13 guest: systemd, postgresql, the driver installed in the
# image from the fph-guest-dkms package (scripts/build-debian-image.sh), cached in /var/cache/fph;
# $(BUILD)/debian13 links to it.  tests/e2e/test_debian.py boots it.
# KERNEL=7.3: the image's kernel is trixie-backports' 7.3 instead of trixie's.
KERNEL ?=
.PHONY: image-debian
image-debian: deb
	KERNEL=$(KERNEL) \
	FPH_DKMS_DEB=$$(ls $(CURDIR)/$(BUILD)/deb/fph-guest-dkms_*_all.deb) \
	FPH_TOOLS_DEB=$$(ls $(CURDIR)/$(BUILD)/deb/fph-guest-tools_*_all.deb) \
	FPH_WORKLOAD=$(CURDIR)/$(BUILD)/tools/workload/fph-workload \
	  scripts/build-debian-image.sh $(BUILD)/debian13

# QEMU's own migration-test (suite qemu) of every line runs last, all
# lines at once: it mostly waits on its small guests (~3 of its ~8 min on
# CPU), so the lines share the machine instead of queueing.
QEMU_TEST_DIRS = $(BUILD) $(addprefix $(BUILD)/qemu-,$(OTHER_QEMU_LINES))
check: image image-debian deb-releases qemu-lines
	rc=0; junit=$(BUILD)/meson-logs/testlog.junit.xml; \
	  meson test -C $(BUILD) --no-suite qemu --print-errorlogs || rc=1; \
	  for l in $(OTHER_QEMU_LINES); do \
	    echo "make check: QEMU $$l: suite each-qemu in $(BUILD)/qemu-$$l"; \
	    meson test -C $(BUILD)/qemu-$$l --suite each-qemu --no-suite qemu \
	      --print-errorlogs || rc=1; \
	    junit="$$junit $(BUILD)/qemu-$$l/meson-logs/testlog.junit.xml"; \
	  done; \
	  echo "make check: QEMU's migration-test on $(QEMU_TEST_DIRS), at once"; \
	  pids=; for b in $(QEMU_TEST_DIRS); do \
	    meson test -C $$b --suite qemu --logbase qemu-testlog --print-errorlogs \
	      > $$b/meson-logs/qemu-testlog.out 2>&1 & pids="$$pids $$!"; \
	  done; \
	  for p in $$pids; do wait $$p || rc=1; done; \
	  for b in $(QEMU_TEST_DIRS); do \
	    echo "== $$b"; cat $$b/meson-logs/qemu-testlog.out; \
	    junit="$$junit $$b/meson-logs/qemu-testlog.junit.xml"; \
	  done; \
	  scripts/test-summary.py $$junit; exit $$rc
	scripts/lint.sh $(BUILD)
	$(MAKE) check-asan-reentry
	$(MAKE) fuzz-smoke
	$(MAKE) bench-smoke

# QEMU's python/qemu (qemu.machine, qemu.qmp), which the tests and the bench
# drive QEMU with, from the QEMU source tree scripts/build-qemu.sh unpacked.
QEMU_PYTHONPATH = $(shell . $(BUILD)/qemu.env && echo $$QEMU_SRC/python)

demo: image
	PYTHONPATH=$(QEMU_PYTHONPATH) tests/e2e/demo.py $(BUILD)/fph-qemu $(BUILD)/guest

# fph-selftest (tools/selftest, docs/usage.rst "Before you enable fph"),
# as the fph-qemu package installs it, on build/fph-qemu and make image's
# guest: KVM where /dev/kvm works, else TCG; a 2 GiB guest (SELFTEST_ARGS:
# --mem 4096, --accel tcg, --scenarios churn, ...).
SELFTEST_ARGS ?=
.PHONY: selftest
selftest: image
	PYTHONPATH=$(QEMU_PYTHONPATH) tools/selftest/fph-selftest.py \
	  --qemu $(BUILD)/fph-qemu --guest $(BUILD)/guest \
	  --json $(BUILD)/fph-selftest.json $(SELFTEST_ARGS)

# Benchmark fph against default QEMU and virtio-balloon (docs/benchmarks.md).
# `make bench` runs the full matrix (BENCH_MATRIX=reduced for the smaller one,
# BENCH_ARGS for more fph-bench options) and rewrites docs/benchmarks/ and the
# generated section of docs/benchmarks.md; `make bench-smoke` takes < 2 min
# and fails if fph transfers more than default QEMU.
BENCH_MATRIX ?= full
BENCH_ARGS ?=
.PHONY: bench bench-smoke
bench: image bench-debian bench-reclaim
	PYTHONPATH=$(QEMU_PYTHONPATH) bench/fph-bench.py --qemu $(BUILD)/fph-qemu \
	  --image $(BUILD)/guest --matrix $(BENCH_MATRIX) $(BENCH_ARGS) \
	  --out docs/benchmarks/fph-bench.json --plot docs/benchmarks/fph-bench.png \
	  --doc docs/benchmarks.md

# The Debian 13 guest's scenarios (debian-*: idle, freed, page cache,
# pgbench, NUMA), ~45 min; its own section of docs/benchmarks.md.
.PHONY: bench-debian
bench-debian: image-debian
	PYTHONPATH=$(QEMU_PYTHONPATH) bench/fph-bench.py --qemu $(BUILD)/fph-qemu \
	  --guest debian13 --image $(BUILD)/debian13 $(BENCH_ARGS) \
	  --out docs/benchmarks/debian13/fph-bench.json \
	  --plot docs/benchmarks/debian13/fph-bench.png \
	  --doc docs/benchmarks.md --doc-section debian13

# Page-cache reclaim on the Debian 13 guest: default, fph and fph with
# reclaim=1G on 1 GiB of cold file data, alone and with pgbench running
# (docs/benchmarks.md, section reclaim; ~35 min at 2 repetitions).
.PHONY: bench-reclaim
bench-reclaim: image-debian
	PYTHONPATH=$(QEMU_PYTHONPATH) bench/fph-bench.py --qemu $(BUILD)/fph-qemu \
	  --guest debian13 --image $(BUILD)/debian13 \
	  --scenarios debian-page-cache,debian-cache-pgbench \
	  --contenders default,fph,fph-reclaim --reps 2 $(BENCH_ARGS) \
	  --out docs/benchmarks/reclaim/fph-bench.json \
	  --plot docs/benchmarks/reclaim/fph-bench.png \
	  --doc docs/benchmarks.md --doc-section reclaim

# Default QEMU against fph over the full matrix (~1 h 20 min): the
# downtime targets; its own section of docs/benchmarks.md.
.PHONY: bench-downtime
bench-downtime: image
	PYTHONPATH=$(QEMU_PYTHONPATH) bench/fph-bench.py --qemu $(BUILD)/fph-qemu \
	  --image $(BUILD)/guest --matrix full --contenders default,fph $(BENCH_ARGS) \
	  --out docs/benchmarks/downtime/fph-bench.json \
	  --plot docs/benchmarks/downtime/fph-bench.png \
	  --doc docs/benchmarks.md --doc-section downtime

# Against what users turn on today (multifd, free-page reporting), on the
# newest QEMU line, 10 Gbit/s, MODERN_REPS repetitions (~2 h 20 min at 3):
# busybox idle and freed-dirty at 2, 8 and 12 GiB (at 12 GiB without
# default, whose source and destination would not both fit in 24 GiB),
# live snapshots to a file at 2 and 8 GiB, Debian 13 pgbench at 2 GiB; one
# raw JSON, docs/benchmarks.md's modern section (docs/benchmarks.md says why).
MODERN_REPS ?= 3
MODERN_CONTENDERS = default-multifd,balloon-report,fph,fph-multifd
MODERN_DIR = docs/benchmarks/modern
MODERN_BENCH = PYTHONPATH=$$(. $(BUILD)/qemu-$(NEWEST_QEMU_LINE)/qemu.env && echo $$QEMU_SRC/python) \
  bench/fph-bench.py --qemu $(BUILD)/qemu-$(NEWEST_QEMU_LINE)/fph-qemu \
  --bandwidth 10G --reps $(MODERN_REPS) --out $(MODERN_DIR)/fph-bench.json $(BENCH_ARGS)
.PHONY: bench-modern
bench-modern: image image-debian qemu-lines
	$(MODERN_BENCH) --image $(BUILD)/guest --mem 2G,8G \
	  --scenarios idle,freed-dirty --contenders default,$(MODERN_CONTENDERS)
	$(MODERN_BENCH) --append --image $(BUILD)/guest --mem 12G \
	  --scenarios idle,freed-dirty --contenders $(MODERN_CONTENDERS)
	$(MODERN_BENCH) --append --image $(BUILD)/guest --mem 2G,8G \
	  --scenarios snapshot-idle,snapshot-freed-dirty --contenders default,fph
	$(MODERN_BENCH) --append --guest debian13 --image $(BUILD)/debian13 --mem 2G \
	  --scenarios debian-pgbench --contenders default,$(MODERN_CONTENDERS) \
	  --plot $(MODERN_DIR)/fph-bench.png --doc docs/benchmarks.md --doc-section modern

bench-smoke: image
	PYTHONPATH=$(QEMU_PYTHONPATH) bench/fph-bench.py --smoke --qemu $(BUILD)/fph-qemu \
	  --image $(BUILD)/guest --out $(BUILD)/bench-smoke.json

# A switch to postcopy while the guest reuses memory it had freed
# (tests/e2e/postcopy.py): default QEMU, fph, fph + postcopy-preempt,
# POSTCOPY_REPS times (~3 min each); docs/benchmarks.md's postcopy section.
POSTCOPY_REPS ?= 3
.PHONY: bench-postcopy
bench-postcopy: image
	PYTHONPATH=$(QEMU_PYTHONPATH) bench/fph-bench-postcopy.py --qemu $(BUILD)/fph-qemu \
	  --image $(BUILD)/guest --reps $(POSTCOPY_REPS) \
	  --out docs/benchmarks/postcopy/fph-bench-postcopy.json \
	  --plot docs/benchmarks/postcopy/fph-bench-postcopy.png --doc docs/benchmarks.md

# libFuzzer on the core (tests/fuzz, clang): FUZZ_TIME seconds on a fresh
# copy of the seed corpus in $(BUILD)/fuzz; fails on any crash.
# `make fuzz FUZZ_TIME=3600` is the long campaign (its corpus persists in
# $(BUILD)/fuzz/campaign).
FUZZ_TIME ?= 60
.PHONY: fuzz-smoke fuzz
fuzz-smoke:
	tests/fuzz/fuzz.sh smoke $(BUILD)/fuzz $(FUZZ_TIME)

fuzz:
	tests/fuzz/fuzz.sh campaign $(BUILD)/fuzz $(FUZZ_TIME)

# Core and module under ASan+UBSan in $(ASAN_BUILD), against the same
# patched QEMU (not instrumented: the qtests preload libasan into it), and
# the tests that can run there: core unit tests and the qtests.  Not part
# of `make check` (the instrumented build alone takes minutes).
ASAN_BUILD ?= build-asan
ASAN_SETUP = . $(BUILD)/qemu.env && \
	if [ -f $(ASAN_BUILD)/build.ninja ]; then \
	  meson configure $(ASAN_BUILD) -Dqemu_src=$$QEMU_SRC \
	    -Dqemu_build=$$QEMU_BUILD -Db_sanitize=address,undefined; \
	else \
	  meson setup $(ASAN_BUILD) -Dqemu_src=$$QEMU_SRC \
	    -Dqemu_build=$$QEMU_BUILD -Db_sanitize=address,undefined; \
	fi >/dev/null
.PHONY: check-asan check-asan-reentry
check-asan: $(BUILD)/qemu.env
	$(ASAN_SETUP)
	ninja -C $(ASAN_BUILD) tests/unit/core-unit module/qemu-modules.stamp \
	  tests/qtest/fph-qtest tests/qtest/fph-hostile-qtest
	meson test -C $(ASAN_BUILD) --no-rebuild --print-errorlogs \
	  core-unit fph-qtest fph-hostile-qtest

# Part of `make check` (~3 min cold): the hostile cases where the device
# resets or unplugs itself from inside its own code, with the module under
# ASan (tests/qtest/meson.build, fph-reentry-qtest).
check-asan-reentry: $(BUILD)/qemu.env
	$(ASAN_SETUP)
	ninja -C $(ASAN_BUILD) module/qemu-modules.stamp \
	  tests/qtest/fph-hostile-qtest
	meson test -C $(ASAN_BUILD) --no-rebuild --print-errorlogs \
	  fph-reentry-qtest

# The guest driver on every Debian kernel series x flavour with headers in
# the archive (scripts/kernel-packages.py list: 6.1, 6.12, 7.2, 7.3 x
# amd64, cloud-amd64, rt-amd64 today), each through tests/kernels/run.sh
# (the later releases' driver by DKMS from $(BUILD)/deb in a chroot of
# their suite); writes docs/kernels.md (scripts/kernels-report.py), also
# when a kernel fails.  ~1-4 min per kernel; not part of `make check`,
# which runs 6.1, 6.12 and the newest series' three flavours.
KERNELS_ALL_OUT ?= $(BUILD)/kernels-all
.PHONY: check-kernels-all
check-kernels-all: deb
	set -o pipefail; kernels=$$(scripts/kernel-packages.py list | cut -d" " -f1) || exit 1; \
	PYTHONPATH=$(QEMU_PYTHONPATH) FPH_KERNELS_OUT=$(CURDIR)/$(KERNELS_ALL_OUT) \
	FPH_DKMS_DEB_DIR=$(CURDIR)/$(BUILD)/deb \
	  tests/kernels/run.sh $(BUILD)/fph-qemu $(BUILD)/tools/workload/fph-workload \
	  $$kernels; rc=$$?; \
	scripts/kernels-report.py $(KERNELS_ALL_OUT) docs/kernels.md || rc=1; exit $$rc

# `make check` in a clean clone of HEAD inside a new chroot of SUITE
# (mmdebstrap; default this machine's release, SUITE=trixie for Debian 13):
# the fresh-machine path, without touching this machine's packages.
# ~50 min; not part of `make check`.
.PHONY: check-fresh
check-fresh:
	SUITE=$(or $(SUITE),$(HOST_RELEASE)) scripts/check-fresh.sh $(FRESH_DIR)

install: build
	scripts/install.sh $(BUILD) $(PREFIX)

checkpatch lint: $(BUILD)/qemu.env
	scripts/lint.sh $(BUILD)

clean:
	rm -rf $(BUILD)
	$(MAKE) -C guest clean

FORCE:
