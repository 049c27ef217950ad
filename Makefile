# The two commands of the README:
#   make demo   install what is needed, build, compile and run an example network
#   make test   install what is needed, build, run every test (ctest: GoogleTest + lit)
# Both are idempotent and quick when nothing changed.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNCC_WERROR=ON

.PHONY: all setup configure build demo test clean

all: build

setup:
	@./scripts/setup

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: setup configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@./scripts/demo $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@echo "lit summary:" && sed -n '/^Testing Time:/,/^[^ ]/p' $(BUILD)/Testing/Temporary/LastTest.log | grep -E '^ +(Passed|Failed|Unsupported|Expectedly|Unexpectedly|Skipped)' || true

clean:
	rm -rf $(BUILD)
