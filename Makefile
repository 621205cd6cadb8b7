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

# Patched QEMU, cached outside the checkout (scripts/build-qemu.sh).
$(BUILD)/qemu.env: deps FORCE
	@mkdir -p $(BUILD)
	scripts/build-qemu.sh > $@.tmp
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

check: image
	meson test -C $(BUILD) --print-errorlogs; rc=$$?; \
	  scripts/test-summary.py $(BUILD)/meson-logs/testlog.json; exit $$rc
	scripts/lint.sh $(BUILD)

demo: image
	tests/e2e/demo.py $(BUILD)/fph-qemu $(BUILD)/guest

install: build
	scripts/install.sh $(BUILD) $(PREFIX)

checkpatch lint: $(BUILD)/qemu.env
	scripts/lint.sh $(BUILD)

clean:
	rm -rf $(BUILD)
	$(MAKE) -C guest clean

FORCE:
