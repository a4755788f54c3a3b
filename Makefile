# Caravan: `make demo` sets everything up and runs a real VM; `make test` runs all tests.
SHELL := /bin/bash
CARAVAN := $(CURDIR)/.build/debug/caravan

.PHONY: deps build box test unit e2e demo bench clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

box: deps
	@scripts/test-box.sh

# Unit and libvirt-driver tests, then the end-to-end test on a real QEMU guest.
test: build box
	CARAVAN_E2E_BOX=$(CURDIR)/out/debian-12.box CARAVAN_BIN=$(CARAVAN) \
	  scripts/libvirt-env.sh swift test

unit: build
	swift test --skip EndToEnd

demo: build box
	scripts/libvirt-env.sh scripts/demo.sh $(CARAVAN) $(CURDIR)/out/debian-12.box

bench: build box
	scripts/libvirt-env.sh bench/status.sh $(CARAVAN) $(CURDIR)/out/debian-12.box

clean:
	rm -rf .build out
