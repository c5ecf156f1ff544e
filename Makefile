# Thin wrapper over CMake. `make run` and `make test` are the README's quick start.
#   make run    what running needs: build packages and web/'s npm packages; builds only `sluice`
#   make test   adds the test packages and tests/'s npm packages; builds every target; ctest
# The build is quiet: CMake's and the compiler's output go to $(BUILD)/configure.log and
# $(BUILD)/build.log and are shown only when a step fails.
BUILD ?= build
WERROR ?= OFF
SANITIZE ?= OFF
CMAKE_FLAGS ?=
ARGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps deps-build configure build build-sluice run test test-asan bench fuzz format clean

all: build

# Every package (test tools too) / only what building and running need.
deps:
	@.ci/install-deps
deps-build:
	@.ci/install-deps --build

# quiet(LOG, COMMAND): runs COMMAND with its output in LOG; on failure prints the log's end
# (without the nested makes' directory lines).
quiet = log=$(BUILD)/$(1); if ! $(2) >"$$log" 2>&1; then \
	  grep -Ev '^g?make\[[0-9]+\]: (Entering|Leaving) directory' "$$log" | tail -n 60; \
	  echo "make: failed; the whole output is in $$log"; exit 1; fi

configure:
	@mkdir -p $(BUILD)
	@$(call quiet,configure.log,cmake -S . -B $(BUILD) -DSLUICE_WERROR=$(WERROR) \
	  -DSLUICE_SANITIZE=$(SANITIZE) $(CMAKE_FLAGS))

build: deps-build configure
	@echo "building $(BUILD)/ (log: $(BUILD)/build.log)"
	@$(call quiet,build.log,cmake --build $(BUILD) -j $(JOBS))

build-sluice: deps-build configure
	@echo "building $(BUILD)/sluice (log: $(BUILD)/build.log)"
	@$(call quiet,build.log,cmake --build $(BUILD) -j $(JOBS) --target sluice)

run: build-sluice
	@mkdir -p data
	@$(BUILD)/sluice $(ARGS)

# Tests that skip print "SKIP: reason" before exiting 77; ctest shows only "Skipped", so the
# reasons are listed after the summary.
test: deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD) && { ctest --output-on-failure -j 2 --timeout 900; rc=$$?; \
	  awk '/^[0-9]+\/[0-9]+ Test: /{t=$$3} /^SKIP: /{print "skipped " t ": " substr($$0, 7)}' \
	    Testing/Temporary/LastTest.log 2>/dev/null; exit $$rc; }

test-asan:
	$(MAKE) test BUILD=build-asan SANITIZE=ON

bench: deps build
	@tests/bench/run $(BUILD)

fuzz: deps
	@tests/fuzz/run

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
