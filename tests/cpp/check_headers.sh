#!/bin/sh
# check_headers.sh CXX STD SRC_DIR [LIBWEFT_A LINK_FLAGS...]: weft from C++ with a
# given compiler and standard (c++17, c++20, ...), warnings as errors (-Wall -Wextra
# -Wshadow -pedantic -Werror):
#   1. every public header (include/: weft.h, weft.hpp, weft/common.h; each module's
#      include/weft/*.h), included alone and twice, compiles;
#   2. every weft.hpp test (tests/cpp/test_*.cpp) compiles, which instantiates each
#      wrapper;
#   3. with LIBWEFT_A (and the link flags it needs): tests/abi/layout_cpp.cpp and
#      tests/cpp/test_join.cpp are linked against it and run.
# weft/dist.h needs <mpi.h>: it is checked with the include flags in WEFT_MPI_INCLUDES
# (set by tests/cpp/CMakeLists.txt when the build has MPI), and skipped without them.
# Exit 0 when all pass; else the compiler's (or the program's) output.
set -eu
cxx=$1 std=$2 src=$3
shift 3
incs="-I$src/tests -I$src/include"
for d in "$src"/*/include; do incs="$incs -I$d"; done
flags="-std=$std -Wall -Wextra -Wshadow -pedantic -Werror"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $1 as $std with $cxx" >&2; exit 1; }
n=0
for h in "$src"/include/*.h "$src"/include/*.hpp "$src"/include/weft/*.h "$src"/*/include/weft/*.h; do
    [ -e "$h" ] || continue
    name=${h#"$src"/include/}
    name=${name#"$src"/*/include/}
    extra=""
    if [ "$name" = weft/dist.h ]; then
        [ -n "${WEFT_MPI_INCLUDES:-}" ] || continue
        extra=$WEFT_MPI_INCLUDES
    fi
    printf '#include <%s>\n#include <%s>\nint main() { return 0; }\n' "$name" "$name" >"$work/t.cpp"
    # shellcheck disable=SC2086 # $flags and $incs are lists
    "$cxx" $flags $incs $extra -fsyntax-only "$work/t.cpp" || fail "<$name>"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no headers found under $src/include and $src/*/include" >&2; exit 1; }
t=0
for f in "$src"/tests/cpp/test_*.cpp; do
    # shellcheck disable=SC2086
    "$cxx" $flags $incs -fsyntax-only "$f" || fail "$f"
    t=$((t + 1))
done
echo "$n headers and $t weft.hpp tests compile as $std with $cxx"
if [ $# -gt 0 ]; then
    for f in "$src"/tests/abi/layout_cpp.cpp "$src"/tests/cpp/test_join.cpp; do
        # shellcheck disable=SC2086
        "$cxx" $flags $incs -O1 "$f" "$@" -o "$work/prog" || fail "linking $f"
        "$work/prog" >/dev/null || fail "running $f"
    done
    echo "linked and ran layout_cpp and test_join"
fi
