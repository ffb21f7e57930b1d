#!/bin/sh
# check_api_docs.sh: docs/api.md documents the whole public API, and nothing else.
#
# Usage: check_api_docs.sh LIBWEFT_SO SOURCE_DIR [LIBWEFT_DIST_SO]
#
# weft/dist.h (the optional dist/ module) is always checked for documentation; its
# functions are checked against LIBWEFT_DIST_SO's exports when the build made it
# (MPI found), and left out of check 3 otherwise.
#
# The public API is every `weft_*` / `WEFT_*` identifier in the code (comments
# stripped) of the installed headers: functions, inline functions, types, struct tags,
# macros, enum constants (include guards excepted). `weft__*` / `WEFT__*` names are
# the headers' internals (what weft/inline.h's macros expand to, the layout inline
# code shares with libweft): not API, so they need no entry, though api.md may name
# them and the exported ones must be declared. It fails, listing the names, if
#   1. a name is not in a ```c block of docs/api.md (each entry's signature block:
#      a mention in prose does not count, so deleting an entry is caught);
#   2. api.md names a `weft_*` / `WEFT_*` identifier that no header declares (stale),
#      environment variables and the exported CMake targets excepted;
#   3. a function declared WEFT_API is not exported by libweft.so, or libweft.so
#      exports a weft_* function that no header declares (nm -D).
# POSIX sh, awk, grep, sort, comm, nm: nothing beyond a fresh Debian 12 with binutils.
set -eu

lib=$1
src=$2
distlib=${3:-}
doc=$src/docs/api.md
headers="$src/include/weft.h $src/include/weft/common.h $src/sync/include/weft/sync.h
$src/runtime/include/weft/runtime.h $src/runtime/include/weft/inline.h $src/par/include/weft/par.h
$src/chan/include/weft/chan.h $src/sync/include/weft/trace.h $src/dist/include/weft/dist.h"
# Environment variables the library reads: api.md documents them, no header declares them.
env_vars="WEFT_NUM_THREADS WEFT_PIN WEFT_WAIT_POLICY WEFT_STATS WEFT_TRACE WEFT_TRACE_EVENTS"
# CMake targets of the install (weft::weft_static, weft::weft_dist_static) and the
# build options api.md names (README.md, "Build options", lists them all): no header
# declares them either.
cmake_targets="weft_static weft_dist_static WEFT_DIST WEFT_TRACING"

tmp=${TMPDIR:-/tmp}/weft-api-docs.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM

for f in $headers "$doc" "$lib" $distlib; do
    [ -r "$f" ] || { echo "check_api_docs: cannot read $f" >&2; exit 2; }
done

# The headers' code, C comments removed (block comments may span lines).
awk '{
    line = $0; out = ""
    while (line != "") {
        if (incomment) {
            p = index(line, "*/")
            if (p == 0) { line = ""; break }
            line = substr(line, p + 2); incomment = 0
        } else {
            p = index(line, "/*")
            if (p == 0) { out = out line; line = "" }
            else { out = out substr(line, 1, p - 1) " "; line = substr(line, p + 2); incomment = 1 }
        }
    }
    print out
}' $headers > "$tmp/code"

ids() { grep -oE '(^|[^A-Za-z0-9_])(weft|WEFT)_[A-Za-z0-9_]*' | sed 's/^[^A-Za-z]//' | sort -u; }

# Names the headers declare, include guards (WEFT_H, WEFT_SYNC_H, ...) excepted; the
# public ones are those that are not internal (weft__*, WEFT__*).
ids < "$tmp/code" | grep -vE '^WEFT_([A-Z]+_)?H$' > "$tmp/declared_names"
grep -vE '^(weft|WEFT)__' "$tmp/declared_names" > "$tmp/public" || true

# Names in api.md's ```c blocks, and anywhere in api.md.
awk '/^```/ { if (inblock) { inblock = 0 } else if ($0 ~ /^```c[ \t]*$/) { inblock = 1 }; next }
     inblock' "$doc" | ids > "$tmp/documented"
ids < "$doc" > "$tmp/mentioned"
for v in $env_vars $cmake_targets; do echo "$v"; done | cat - "$tmp/declared_names" | sort -u > "$tmp/known"

# WEFT_API function declarations (the function name follows WEFT_API on the same
# line; thread-local variables are not functions) and the library's exported
# functions.
grep 'WEFT_API' "$tmp/code" | grep -v 'define WEFT_API' | grep -v '__thread' |
    sed -E 's/.*[^A-Za-z0-9_](weft_[A-Za-z0-9_]*)[ \t]*\(.*/\1/' | sort -u > "$tmp/declared"
nm -D --defined-only "$lib" $distlib | awk '$2 == "T" && $3 ~ /^weft_/ { print $3 }' | sort -u > "$tmp/exported"
# Without libweft_dist, dist.h's functions are not checked against any library.
if [ -z "$distlib" ]; then
    grep -o 'weft_dist_[A-Za-z0-9_]*' "$src/dist/include/weft/dist.h" | sort -u > "$tmp/dist_names"
    comm -23 "$tmp/declared" "$tmp/dist_names" > "$tmp/declared_lib"
    mv "$tmp/declared_lib" "$tmp/declared"
fi

status=0
report() { # title file
    if [ -s "$2" ]; then
        echo "$1:"
        sed 's/^/  /' "$2"
        status=1
    fi
}
comm -23 "$tmp/public" "$tmp/documented" > "$tmp/undocumented"
comm -13 "$tmp/known" "$tmp/mentioned" > "$tmp/stale"
comm -23 "$tmp/declared" "$tmp/exported" > "$tmp/unexported"
comm -13 "$tmp/declared" "$tmp/exported" > "$tmp/undeclared"
report "public names with no entry (no \`\`\`c block naming them) in docs/api.md" "$tmp/undocumented"
report "docs/api.md names identifiers that no public header declares" "$tmp/stale"
report "declared WEFT_API but not exported by $(basename "$lib")" "$tmp/unexported"
report "exported by $(basename "$lib") but declared in no public header" "$tmp/undeclared"
if [ "$status" -eq 0 ]; then
    echo "docs/api.md covers all $(wc -l < "$tmp/public") public names" \
         "($(wc -l < "$tmp/exported") exported functions); nothing stale"
fi
exit "$status"
