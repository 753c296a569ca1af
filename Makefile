# The user's commands. Meson does the building; this file only strings the
# steps together. See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-bench
LISTEN     ?= 127.0.0.1:8080
DATA       ?= ./var

.PHONY: all deps build run test test-plain test-asan bench fuzz install clean lint

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

run: build
	$(BUILD)/server/tesserad serve --dev --data $(DATA) --listen $(LISTEN)

test: deps
	bash scripts/run-tests.sh

# The library/CLI benchmark, then the service benchmark (bench/README.md,
# bench/server/README.md).
bench: deps
	bash scripts/run-bench.sh
	bash scripts/bench-server.sh

fuzz: deps
	bash scripts/run-fuzz.sh

install: build
	meson install -C $(BUILD)

lint:
	bash scripts/lint.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD) build-fuzz
