# weft's front door. `make run` and `make test` work on a fresh Debian 12
# machine as root: they install what is missing, build, and run.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build run test bench clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: replay the Facebook coflow benchmark under the classic
# policies side by side on the emulator.
run: build
	./$(BUILD)/weft sim data/FB2010-1Hr-150-0.txt --format fb \
	    --policy fifo --policy scf --policy sebf --policy fair

test: build
	@sh scripts/test.sh $(BUILD)

bench: build
	@sh scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
