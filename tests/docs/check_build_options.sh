#!/bin/sh
# check_build_options.sh: README.md's "Build options" table lists every build option.
#
# Usage: check_build_options.sh SOURCE_DIR
#
# The options are the WEFT_* names declared by option(...) or set(... CACHE ...) in
# the CMakeLists.txt and cmake/*.cmake files of the tree (build directories
# excepted); each must start a row of the table, as | `NAME` or, in a shared row,
# after a comma. Fails listing the missing ones. POSIX sh, find, grep, sed, sort.
set -eu
src=$1
options=$(find "$src" -path "$src/build" -prune -o \( -name CMakeLists.txt -o -name '*.cmake' \) -type f -print |
    xargs grep -hE '^[[:space:]]*(option|set)\([[:space:]]*WEFT_[A-Z0-9_]+' |
    grep -E 'option\(|CACHE' | sed -E 's/^[[:space:]]*(option|set)\([[:space:]]*(WEFT_[A-Z0-9_]+).*/\2/' | sort -u)
table=$(sed -n '/^### Build options$/,/^#/p' "$src/README.md" | grep '^|' | cut -d'|' -f2)
missing=""
for o in $options; do
    printf '%s\n' "$table" | grep -q "\`$o\`" || missing="$missing $o"
done
if [ -n "$missing" ]; then
    echo "README.md, \"Build options\", does not list:$missing" >&2
    exit 1
fi
echo "README.md lists all $(printf '%s\n' "$options" | wc -l) build options"
