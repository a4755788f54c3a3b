# Caravan: `make demo` sets everything up and runs a real VM; `make test` runs all tests.
SHELL := /bin/bash
CARAVAN := $(CURDIR)/.build/debug/caravan

.PHONY: deps build release box fixtures cloud-image test test-quick test-deb test-install-deps test-installer unit lint format fuzz soak breakit-rootless demo bench deb install clean
PREFIX ?= /usr/local
DESTDIR ?=

deps:
	@scripts/install-deps.sh

build: deps
	scripts/phase.sh build swift build

# The binary `make deb`, `make install` and bench/ use: optimized, the Swift runtime linked in,
# built in .build-release (scripts/release.sh). Both modes in `make test`, for a reason: the unit
# tiers' `@testable import`s need the debug build (release builds have no -enable-testing), and
# its `caravan` is what the end-to-end suites run (building release first would put its ~3 min
# before them); the release binary is built once, beside the end-to-end tier at nice 19
# (scripts/tiers.sh), for the package, which the package test installs and runs.
RELEASE := $(CURDIR)/.build-release/release/caravan
release: deps
	scripts/phase.sh release scripts/release.sh

box: build
	@scripts/phase.sh box scripts/test-box.sh $(CARAVAN)

# The formatter's lint, unit and libvirt-driver tests, the end-to-end tests on
# a real QEMU guest, a short fuzz run of the Machinefile parser, the package test and
# the install-deps test.
# Two runs of one test build: the unit tiers first, then the end-to-end suites, whose
# tests block their threads for minutes while guests boot (in one run they starve the
# in-process HTTP server tests of the concurrency pool on 2 cores). scripts/tiers.sh runs
# the end-to-end tier with the release build beside it (at nice 19), then the fuzz run,
# the package test and the install-deps test side by side.
# Each step is a phase (scripts/phase.sh): .ci/run prints their durations at the end.
E2E_ENV := CARAVAN_E2E_BOX=$(CURDIR)/out/debian-12.box CARAVAN_BIN=$(CARAVAN) CARAVAN_E2E_FIXTURES=$(CURDIR)/out/fixtures \
  CARAVAN_E2E_CLOUD_IMAGE=$(CURDIR)/out/cloud-image
test: lint build box fixtures cloud-image
	scripts/phase.sh test-build swift build --build-tests
	$(E2E_ENV) scripts/phase.sh unit scripts/libvirt-env.sh swift test --skip-build --skip EndToEndTests
	$(E2E_ENV) scripts/tiers.sh

# The inner loop: lint, the unit tiers, and one warm end-to-end smoke (scripts/smoke.sh:
# up --warm, ssh -c, destroy -f from the test box's saved state, kept between runs).
test-quick: lint build box
	scripts/phase.sh test-build swift build --build-tests
	CARAVAN_BIN=$(CARAVAN) scripts/phase.sh unit scripts/libvirt-env.sh swift test --skip-build --skip EndToEndTests
	scripts/phase.sh smoke scripts/libvirt-env.sh scripts/smoke.sh $(CARAVAN) out/debian-12.box

# The Debian package: control fields, files, lintian, then installed with its
# dependencies in a throw-away Debian 12 root (mmdebstrap) and run there.
test-deb: deb
	scripts/phase.sh package-test scripts/test-deb.sh

# scripts/install-deps.sh in a throw-away minimal Debian 12 root (mmdebstrap), as on a fresh
# machine whose Python has no pip; then the venv's ksvalidator checks a kickstart there. It
# installs every package again: about 3 minutes here, 10 or more beside a Swift build.
test-install-deps:
	scripts/phase.sh install-deps-test scripts/test-install-deps.sh

# The controlled installer (busybox), its ISO and the root file system it installs,
# made from the test box, for `caravan build`'s installer and iso tests.
fixtures: box
	@scripts/phase.sh fixtures Tests/Fixtures/installer/make-fixtures.sh out/debian-12.box out/fixtures

# The genericcloud-like Debian image the cloud image tests boot (scripts/cloud-image.sh:
# mmdebstrap with cloud-init, GPT, GRUB for BIOS and UEFI), served with its SHA512SUMS.
cloud-image:
	@scripts/phase.sh cloud-image scripts/cloud-image.sh out/cloud-image

# The module layers, the size rules (files up to 400 lines, functions up to 80), and
# swift-format (part of the toolchain) with the project's .swift-format.
lint:
	scripts/phase.sh lint sh -c 'scripts/check-layers.py && scripts/check-sizes.py && swift format lint --strict --recursive Sources Tests Plugins Package.swift'

format:
	swift format format --in-place --recursive Sources Tests Plugins Package.swift

# Debian's real netboot installer with the stock preseed, through an apt-cacher-ng on
# 127.0.0.1, up to the installer .udeb this machine's registry does not serve (about 13 min).
test-installer: build box fixtures
	CARAVAN_E2E_BOX=$(CURDIR)/out/debian-12.box CARAVAN_BIN=$(CARAVAN) CARAVAN_E2E_DEBIAN_INSTALLER=1 \
	  scripts/libvirt-env.sh swift test --filter DebianInstallerTests

# More kills than make test's fault-injection run: N random `up` kills (default
# 10) after the named instants; CARAVAN_FAULT_SEED=S replays a run. Without the
# warm home (no CARAVAN_E2E_WARM_HOME), so its random kills hit cold boots, where
# make test's hit warm starts.
soak: build box
	CARAVAN_FAULT_UP_KILLS=$(or $(N),10) CARAVAN_E2E_BOX=$(CURDIR)/out/debian-12.box CARAVAN_BIN=$(CARAVAN) \
	  scripts/libvirt-env.sh swift test --filter FaultInjectionTests

# Kills of `up --warm` as a normal user on its own qemu:///session (see the script).
breakit-rootless: build box
	scripts/breakit-rootless-warm.sh $(CARAVAN) $(CURDIR)/out/debian-12.box $(or $(N),6)

fuzz:
	fuzz/run.sh 300

unit: build
	swift test --skip EndToEnd

demo: build box
	scripts/libvirt-env.sh scripts/demo.sh $(CARAVAN) $(CURDIR)/out/debian-12.box

bench: release box fixtures cloud-image
	scripts/libvirt-env.sh bench/build.sh $(RELEASE) $(CURDIR)/out/fixtures
	bench/parse.sh $(RELEASE)
	bench/box-add.sh $(RELEASE)
	scripts/libvirt-env.sh bench/status.sh $(RELEASE) $(CURDIR)/out/debian-12.box
	scripts/libvirt-env.sh bench/lifecycle.sh $(RELEASE) $(CURDIR)/out/debian-12.box
	scripts/libvirt-env.sh bench/provision.sh $(RELEASE) $(CURDIR)/out/debian-12.box
	scripts/libvirt-env.sh bench/rsync.sh $(RELEASE) $(CURDIR)/out/debian-12.box
	scripts/libvirt-env.sh bench/multi.sh $(RELEASE) $(CURDIR)/out/debian-12.box
	scripts/libvirt-env.sh bench/warm.sh $(RELEASE) $(CURDIR)/out/debian-12.box
	scripts/libvirt-env.sh bench/cloud.sh $(RELEASE) $(CURDIR)/out/cloud-image
	scripts/libvirt-env.sh bench/registry.sh $(RELEASE)
	scripts/libvirt-env.sh bench/package.sh $(RELEASE) $(CURDIR)/out/debian-12.box

# caravan_VERSION-1_amd64.deb here: the release binary, man pages, completions.
deb: release
	scripts/phase.sh deb scripts/make-deb.sh

# The same files as the package, under $(DESTDIR)$(PREFIX) (default /usr/local).
install: release
	scripts/stage.sh "$(DESTDIR)" "$(PREFIX)"

clean:
	rm -rf .build out caravan_*.deb
