# Two commands do all set-up: `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:9200
DATA_DIR ?= ./data

.PHONY: deps build run test bench clean format

deps:
	@scripts/install-deps

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/modelrelay --listen $(LISTEN) --data-dir $(DATA_DIR)

# The client tests (tests/clients) need node and npm, installed by the deps script, and the pinned npm
# clients; re-running cmake registers them even when the build directory was configured without node.
test:
	@MODELRELAY_WITH_NODE=1 scripts/install-deps
	$(MAKE) build
	cmake -S . -B $(BUILD_DIR) >/dev/null
	cd tests/clients && npm ci --no-audit --no-fund
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	bench/run

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
