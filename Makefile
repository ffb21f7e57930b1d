# Thin front door. `make test`: install what is missing, build, run every test in the
# default, ThreadSanitizer and ASan+UBSan builds. `make bench`: build and run the suite.
# Everything real lives in CMakeLists.txt and CMakePresets.json.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_ARGS ?=

.PHONY: test bench deps build clean
test: deps
	@for preset in default tsan asan; do \
	  echo "=== $$preset build ==="; \
	  cmake --preset $$preset >/dev/null && \
	  cmake --build --preset $$preset -j $(JOBS) && \
	  ctest --preset $$preset -j $(JOBS) || exit 1; \
	done

bench: deps
	cmake --preset default >/dev/null
	cmake --build --preset default -j $(JOBS)
	./build/default/bench/weft-bench $(BENCH_ARGS)

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

clean:
	rm -rf build
