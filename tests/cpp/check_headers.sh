#!/bin/sh
# check_headers.sh CXX STD SRC_DIR: every public header of weft (each module's
# include/ directory: weft.h, weft/*.h, weft.hpp), included alone and twice, must
# compile as C++ standard STD (c++17, c++20, ...) with CXX, warnings as errors
# (-Wall -Wextra -Wshadow -pedantic). Exit 0 when all do; else the compiler's output.
set -eu
cxx=$1 std=$2 src=$3
incs=""
for d in "$src"/*/include; do incs="$incs -I$d"; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
for h in "$src"/*/include/*.h "$src"/*/include/*.hpp "$src"/*/include/weft/*.h; do
    [ -e "$h" ] || continue
    name=${h#"$src"/*/include/}
    printf '#include <%s>\n#include <%s>\nint main() { return 0; }\n' "$name" "$name" >"$work/t.cpp"
    # shellcheck disable=SC2086 # $incs is a list of -I flags
    if ! "$cxx" -std="$std" -Wall -Wextra -Wshadow -pedantic -Werror $incs -fsyntax-only "$work/t.cpp"; then
        echo "FAILED: <$name> as $std with $cxx" >&2
        exit 1
    fi
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no headers found under $src/*/include" >&2; exit 1; }
echo "$n headers compile as $std with $cxx"
