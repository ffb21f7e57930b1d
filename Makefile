# Thin front door. `make test`: install what is missing, build, run every test in the
# default, ThreadSanitizer and ASan+UBSan builds. `make bench`: build and run the suite,
# results in bench/results/.
# Everything real lives in CMakeLists.txt and CMakePresets.json.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_ARGS ?=

.PHONY: test bench deps bench-deps build clean
test: deps
	@for preset in default tsan asan; do \
	  echo "=== $$preset build ==="; \
	  cmake --preset $$preset >/dev/null && \
	  cmake --build --preset $$preset -j $(JOBS) && \
	  ctest --preset $$preset -j $(JOBS) || exit 1; \
	done

# `make bench`: the default suite (BENCH_ARGS adds options, e.g. BENCH_ARGS=--quick or
# BENCH_ARGS='--filter ^fib'), printed as a table and written to bench/results/
# (git-ignored): latest.json (bench/results.schema.json), latest.csv, latest.md and
# PNG charts (bench/charts.sh, gnuplot). A failed result check stops here, non-zero.
RESULTS := bench/results
bench: deps bench-deps
	cmake --preset default >/dev/null
	cmake --build --preset default -j $(JOBS)
	mkdir -p $(RESULTS)
	./build/default/bench/weft-bench --json $(RESULTS)/latest.json --csv $(RESULTS)/latest.csv \
	  --md $(RESULTS)/latest.md $(BENCH_ARGS)
	./build/default/bench/weft-bench-validate $(RESULTS)/latest.json
	sh bench/charts.sh $(RESULTS)/latest.csv $(RESULTS) $(RESULTS)/latest.md

build: deps
	cmake --preset default >/dev/null && cmake --build --preset default -j $(JOBS)

# Debian packages this project needs, installed only when they are missing (checked
# with pkg-config and command -v, so a second run does nothing).
deps:
	@missing=""; \
	command -v cmake >/dev/null || missing="$$missing cmake"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	command -v cc >/dev/null || missing="$$missing gcc"; \
	pkg-config --exists hwloc 2>/dev/null || missing="$$missing libhwloc-dev"; \
	pkg-config --exists criterion 2>/dev/null || missing="$$missing libcriterion-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages:$$missing -- run as root, or: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# What `make bench` needs on top of deps: gnuplot for the charts (same pattern).
bench-deps:
	@if ! command -v gnuplot >/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian package: gnuplot-nox -- run as root, or: sudo apt-get install gnuplot-nox" >&2; exit 1; \
	  fi; \
	  echo "installing: gnuplot-nox"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null || exit 1; \
	fi

clean:
	rm -rf build
