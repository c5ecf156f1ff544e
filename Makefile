# Thin wrapper over CMake. `make run` and `make test` are the README's quick start.
BUILD ?= build
WERROR ?= OFF
SANITIZE ?= OFF
CMAKE_FLAGS ?=
ARGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps build run test test-asan bench fuzz format clean

all: build

deps:
	@.ci/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DSLUICE_WERROR=$(WERROR) -DSLUICE_SANITIZE=$(SANITIZE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p data
	$(BUILD)/sluice $(ARGS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 900

test-asan:
	$(MAKE) test BUILD=build-asan SANITIZE=ON

bench: build
	@tests/bench/run $(BUILD)

fuzz:
	@tests/fuzz/run

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
