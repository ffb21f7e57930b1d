# Thin front door. `make test`: install what is missing, build, run every test in the
# default, ThreadSanitizer and ASan+UBSan builds. `make bench`: build and run the suite,
# results in bench/results/. `make package`: the Debian packages.
# `make fuzz`: run each libFuzzer target (tests/fuzz) for FUZZ_SECONDS on a copy of its
# corpus. `make soak`: the mixed soak workload (tests/soak) for SOAK_SECONDS, in the
# release and the TSan build at once.
# Everything real lives in CMakeLists.txt and CMakePresets.json.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_ARGS ?=
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= chan par
SOAK_SECONDS ?= 600

.PHONY: test bench deps bench-deps build clean fuzz fuzz-deps soak package readme-figures
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
# PNG charts (bench/charts.sh, gnuplot), then the report's timeline pictures of a
# fib, a mandel and a par_sort run (bench/timelines.sh: small traced runs, apart from
# the timed ones). A failed result check stops here, non-zero.
RESULTS := bench/results
bench: deps bench-deps
	cmake --preset default >/dev/null
	cmake --build --preset default -j $(JOBS)
	mkdir -p $(RESULTS)
	./build/default/bench/weft-bench --json $(RESULTS)/latest.json --csv $(RESULTS)/latest.csv \
	  --md $(RESULTS)/latest.md $(BENCH_ARGS)
	./build/default/bench/weft-bench-validate $(RESULTS)/latest.json
	sh bench/charts.sh $(RESULTS)/latest.csv $(RESULTS) $(RESULTS)/latest.md
	sh bench/timelines.sh ./build/default/bench/weft-bench ./build/default/tools/weft-trace \
	  $(RESULTS) $(RESULTS)/latest.md

# `make readme-figures`: rewrite README.md's figure table (between its figures:begin
# and figures:end markers) from bench/results/latest.csv and latest.json, through the
# template bench/readme_figures.md.in (bench/readme_figures.sh: sh + awk). Run it
# after a full `make bench` whose figures the README should show; `make bench` itself
# never touches README.md (bench/README.md, "The README's figures").
readme-figures:
	sh bench/readme_figures.sh $(RESULTS)/latest.csv bench/readme_figures.md.in README.md

build: deps
	cmake --preset default >/dev/null && cmake --build --preset default -j $(JOBS)

# `make package`: the Debian packages libweft<ABI> (shared library) and libweft-dev
# (headers, static library, CMake package, pkg-config modules) of the default build,
# and libweft-dist<ABI> / libweft-dist-dev when dist/ is built, written to
# build/default/ by CPack (cmake/weft_package.cmake).
package: deps
	cmake --preset default >/dev/null && cmake --build --preset default -j $(JOBS) --target package

# Debian packages this project needs, installed only when they are missing (checked
# with pkg-config and command -v, so a second run does nothing). libudev-dev: the
# install test links with `pkg-config --static --libs weft`, which gives hwloc's
# private -ludev (libhwloc-dev does not pull in libudev.so). dpkg-dev and file: CPack
# builds the Debian packages with dpkg-shlibdeps, and finds the libraries with file.
# g++ builds the C++ tests (the presets require it); clang++ is the second compiler
# the public headers are checked with as C++ (tests/cpp), installed without its
# recommends (llvm-14-dev alone would more than double it): about 50 MB to download.
# libopenmpi-dev and openmpi-bin: Open MPI, for dist/ (libweft_dist) and its mpirun
# tests (label mpi); without them the build leaves dist/ out.
deps:
	@missing=""; \
	command -v cmake >/dev/null || missing="$$missing cmake"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	command -v cc >/dev/null || missing="$$missing gcc"; \
	command -v c++ >/dev/null || missing="$$missing g++"; \
	command -v clang++ >/dev/null || norec="clang"; \
	pkg-config --exists hwloc 2>/dev/null || missing="$$missing libhwloc-dev"; \
	pkg-config --exists libudev 2>/dev/null || missing="$$missing libudev-dev"; \
	command -v dpkg-shlibdeps >/dev/null || missing="$$missing dpkg-dev"; \
	command -v file >/dev/null || missing="$$missing file"; \
	pkg-config --exists criterion 2>/dev/null || missing="$$missing libcriterion-dev"; \
	pkg-config --exists ompi-c 2>/dev/null || missing="$$missing libopenmpi-dev"; \
	command -v mpirun >/dev/null || missing="$$missing openmpi-bin"; \
	if [ -n "$$missing$$norec" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages:$$missing $$norec -- run as root, or: sudo apt-get install$$missing $$norec" >&2; exit 1; \
	  fi; \
	  echo "installing:$$missing $$norec"; \
	  apt-get update -qq && \
	  { [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } && \
	  { [ -z "$$norec" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$norec >/dev/null; } || exit 1; \
	fi

# The fuzz preset needs clang and its libFuzzer runtime (libclang-rt-dev), installed
# only when missing, as in deps.
fuzz-deps: deps
	@missing=""; \
	command -v clang >/dev/null || missing="$$missing clang"; \
	if command -v clang >/dev/null && ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }' | \
	   clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then missing="$$missing libclang-rt-dev"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages:$$missing -- run as root, or: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# Each target fuzzes a scratch copy of its committed corpus (build/fuzz/run/<name>), so
# the repository's seeds stay small; a crash leaves its input in build/fuzz/run/ as
# crash-* / leak-* / timeout-* and fails the target. To grow the committed seeds:
#   ./build/fuzz/tests/fuzz/fuzz_<name> -merge=1 tests/fuzz/corpus/<name> build/fuzz/run/<name>
fuzz: fuzz-deps
	cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j $(JOBS)
	@for t in $(FUZZ_TARGETS); do \
	  run=build/fuzz/run; rm -rf $$run/$$t; mkdir -p $$run/$$t; cp tests/fuzz/corpus/$$t/* $$run/$$t/; \
	  echo "=== fuzz_$$t: $(FUZZ_SECONDS) s, log in $$run/$$t.log ==="; \
	  if ./build/fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
	       -print_final_stats=1 -artifact_prefix=$$run/ $$run/$$t >$$run/$$t.log 2>&1; then \
	    grep -E 'DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' $$run/$$t.log; \
	  else \
	    tail -n 60 $$run/$$t.log; echo "fuzz_$$t FAILED: input saved in $$run/ (see the log)" >&2; exit 1; \
	  fi; \
	done

# Two soak runs at once (the release build and ThreadSanitizer), each SOAK_SECONDS long,
# each logging to build/<preset>/soak.log; fails if either fails.
soak: deps
	@for preset in default tsan; do \
	  cmake --preset $$preset >/dev/null && cmake --build --preset $$preset -j $(JOBS) --target soak || exit 1; \
	done
	@echo "=== soak: default and tsan builds in parallel, $(SOAK_SECONDS) s each ==="
	@./build/default/tests/soak/soak --seconds $(SOAK_SECONDS) >build/default/soak.log 2>&1 & d=$$!; \
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ./build/tsan/tests/soak/soak --seconds $(SOAK_SECONDS) >build/tsan/soak.log 2>&1 & t=$$!; \
	wait $$d; rd=$$?; wait $$t; rt=$$?; \
	echo "--- default build (exit $$rd) ---"; tail -n 40 build/default/soak.log; \
	echo "--- tsan build (exit $$rt) ---"; tail -n 40 build/tsan/soak.log; \
	[ $$rd = 0 ] && [ $$rt = 0 ]

# What `make bench` needs on top of deps: gnuplot for the charts, and, only where cargo
# is installed (it is never required), crossbeam-channel's Debian sources for the
# crossbeam peer of the chan_* rows (bench/crossbeam/, built offline against them).
bench-deps:
	@missing=""; \
	command -v gnuplot >/dev/null || missing="$$missing gnuplot-nox"; \
	if { command -v cargo >/dev/null || [ -x "$$HOME/.cargo/bin/cargo" ]; } && \
	   ! ls -d /usr/share/cargo/registry/crossbeam-channel-0.5.* >/dev/null 2>&1; then \
	  missing="$$missing librust-crossbeam-channel-dev"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages:$$missing -- run as root, or: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

clean:
	rm -rf build
