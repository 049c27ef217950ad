# The two commands of the README:
#   make demo   install what is needed, build, compile and run an example network
#   make test   install what is needed, build, run every test (ctest: GoogleTest + lit),
#               then build a second tree with AddressSanitizer + UndefinedBehaviorSanitizer
#               ($(SAN_BUILD)) and run the unit, runtime and end-to-end tests under it
#               (docs/reliability.md)
# Both are idempotent and quick when nothing changed.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNCC_WERROR=ON
# The sanitizer tree: -O1 keeps the instrumented interpreter fast enough, -g1 gives line numbers.
SAN_BUILD ?= build-asan
SAN_CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_C_FLAGS_SANITIZE="-O1 -g1" \
	-DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g1" -DNNCC_WERROR=ON -DNNCC_SANITIZE=address,undefined
# make test SANITIZE=0 skips the sanitizer run.
SANITIZE ?= 1
# Not under the sanitizers: the GoogleTest cases that compile whole models
# with Halide and LLVM (neither is instrumented, nor is the code they emit)
# and load them; each takes minutes there. The main build runs them all.
SAN_CTEST_EXCLUDE ?= ^(GradientCheck|Optimizer|Schedule|TrainingApi|TrainingNumerics|TrainerCompiled|Lower)

.PHONY: all setup configure build demo test test-main test-sanitize build-sanitize clean

all: build

setup:
	@./scripts/setup

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

$(SAN_BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(SAN_BUILD) $(SAN_CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: setup configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@./scripts/demo $(BUILD)

test-main: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@./scripts/test-summary $(BUILD) "main build"

build-sanitize: setup $(SAN_BUILD)/CMakeCache.txt
	cmake --build $(SAN_BUILD) -j $(JOBS)

test-sanitize: build-sanitize
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS) -E '$(SAN_CTEST_EXCLUDE)'
	@./scripts/test-summary $(SAN_BUILD) "sanitizer build (ASan+UBSan)"

ifeq ($(SANITIZE),0)
test: test-main
else
# Sequential: the sanitizer tree is built after the main tests passed.
test: test-main
	@$(MAKE) --no-print-directory test-sanitize
endif

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
