#!/bin/sh
# check_symbols.sh: the global symbols libweft defines are all weft_ or weft__, and the
# internal ones (in libweft.a but not exported by libweft.so) are all weft__, so that a
# program linking libweft.a statically may name its own functions anything else and
# no internal name looks like API. Under ASan a global variable also has an ODR
# indicator, __odr_asan.weft_*: a name with a dot, which no C program can clash with.
# Usage: check_symbols.sh libweft.a libweft.so
set -eu
static=$1
shared=$2
exports=$(mktemp)
trap 'rm -f "$exports"' EXIT INT TERM
nm -D --defined-only "$shared" | awk '{ print $NF }' | sort -u >"$exports"
nm -g --defined-only "$static" | awk 'NF == 3 { print $3 }' | sort -u |
    awk -v exports="$exports" '
        BEGIN { while ((getline line < exports) > 0) exported[line] = 1 }
        /^__odr_asan[.]weft_/ { next }
        !/^weft_/ { print "not weft_-prefixed: " $0; bad = 1; next }
        !($0 in exported) && !/^weft__/ { print "internal but not weft__: " $0; bad = 1 }
        END { exit bad }'
