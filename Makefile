# weft's front door. `make run` and `make test` work on a fresh Debian 12
# machine as root: they install what is missing, build, and run.
BUILD ?= build
JOBS ?= $(shell nproc)
# cmake --build runs make again: without this every level of it says which
# directory it enters
MAKEFLAGS += --no-print-directory
# WEFT_PGO: the library built from a profile of the emulator on the bundled
# traces (CMakeLists.txt; about 25 s more from scratch, 2-6% faster runs)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_PGO=ON

.PHONY: all deps build run test bench deb clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: build multi-stage jobs from the bundled traces (Alibaba DAG
# shapes filled with Facebook coflows) and compare every family of policy,
# the shipped learned model included, on the emulator with a JCT CDF plot;
# then replay the Facebook trace itself in the classic Varys setting under
# fifo, sebf, aalo, sincronia and per-flow fair (SEBF beats FIFO and fair).
RUN_DIR ?= $(BUILD)/run
run: build
	@mkdir -p $(RUN_DIR)
	./$(BUILD)/weft gen --shape alibaba --jobs 60 --ports 32 --load 0.7 --seed 11 \
	    -o $(RUN_DIR)/alibaba-fb.weft
	./$(BUILD)/weft sim $(RUN_DIR)/alibaba-fb.weft --out $(RUN_DIR) \
	    --plot $(RUN_DIR)/jct-cdf.png \
	    --policy fifo --policy scf --policy sebf --policy aalo --policy sincronia \
	    --policy wcp --policy jsebf --policy jsebf-cp --policy fair --policy learned \
	    --lp-bound
	./$(BUILD)/weft sim data/FB2010-1Hr-150-0.txt --format fb --varys \
	    --policy fifo --policy sebf --policy aalo --policy sincronia --policy fair \
	    --lp-bound

test: build
	@sh scripts/test.sh $(BUILD)

bench: build
	@sh scripts/bench.sh $(BUILD)

# The Debian package of this build, $(BUILD)/weft_VERSION_ARCH.deb (CPack;
# cmake/weft_deb.cmake): `apt install ./$(BUILD)/weft_*.deb` (docs/gateway.md,
# "Running as services (systemd)")
deb: build
	@cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) build-asan build-fuzz
