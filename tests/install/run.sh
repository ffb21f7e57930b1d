#!/bin/sh
# run.sh SOURCE_DIR WORK_DIR: the install test. Runs README.md's "Build and install"
# commands as written (the two sh blocks after the `install-test:` markers), with
# /opt/weft and build/release moved into WORK_DIR: configure, build and install weft
# from SOURCE_DIR, then build tests/install (copied to WORK_DIR/app) the three ways.
# Then checks what the README says of them: every program runs; the ones linked with
# libweft.a need no libweft.so, the others do; `pkg-config --static --libs weft`
# links; and the examples build and pass as a standalone project against the
# install (as docs/guide.md builds them).
set -eu
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work/app"
cp "$src/tests/install/CMakeLists.txt" "$src/tests/install/app.c" "$work/app/"
prefix=$work/prefix

# The sh block following the marker line "<!-- install-test: $1 ...".
block() {
    awk -v m="<!-- install-test: $1 " 'index($0, m) == 1 { f = 1; next }
        f == 1 && /^```sh$/ { f = 2; next }
        f == 2 && /^```$/ { exit }
        f == 2 { print }' "$src/README.md"
}
block weft | sed -e "s|/opt/weft|$prefix|g" -e "s|build/release|$work/build|g" >"$work/weft.sh"
block app | sed -e "s|/opt/weft|$prefix|g" >"$work/app.sh"
if ! [ -s "$work/weft.sh" ] || ! [ -s "$work/app.sh" ]; then
    echo "README.md: no install-test blocks" >&2
    exit 1
fi
grep -q "$prefix" "$work/weft.sh" && grep -q "$prefix" "$work/app.sh" ||
    { echo "README.md: the install-test blocks no longer use /opt/weft" >&2; exit 1; }

echo "=== README: build and install weft"
(cd "$src" && sh -eux "$work/weft.sh")
echo "=== README: build app the three ways"
(cd "$work" && sh -eux "$work/app.sh")

app=$work/app
needs_libweft() { readelf -dW "$1" | grep -q 'NEEDED.*\[libweft\.so'; }
for p in build/app app-pc app-cc; do
    "$app/$p"
    needs_libweft "$app/$p" || { echo "$p: no libweft.so in its NEEDED entries" >&2; exit 1; }
done
for p in build/app_static app-static; do
    "$app/$p"
    if needs_libweft "$app/$p"; then
        echo "$p: linked with libweft.a, yet needs libweft.so" >&2
        exit 1
    fi
done

echo "=== pkg-config --static"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is meant
cc "$app/app.c" -o "$app/app-pc-static" $(pkg-config --static --cflags --libs weft) -Wl,-rpath,"$prefix/lib"
"$app/app-pc-static"
# shellcheck disable=SC2046
cc "$app/app.c" -o "$app/app-static-static" $(pkg-config --static --cflags --libs weft-static)
"$app/app-static-static"
if needs_libweft "$app/app-static-static"; then
    echo "pkg-config --static weft-static: needs libweft.so" >&2
    exit 1
fi

# dist/, when the install has it: find_package's weft::weft_dist and pkg-config's
# weft-dist with mpicc, each program run on 2 ranks.
if [ -f "$prefix/lib/cmake/weft/weftDistTargets.cmake" ]; then
    echo "=== dist/ against the install"
    mkdir -p "$work/dist"
    cp "$src/tests/install/dist/CMakeLists.txt" "$src/tests/install/dist/dist_app.c" "$work/dist/"
    cmake -S "$work/dist" -B "$work/dist/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$work/dist/build" >/dev/null
    # shellcheck disable=SC2046
    mpicc "$work/dist/dist_app.c" -o "$work/dist/dist_app-pc" $(pkg-config --cflags --libs weft-dist) \
        -Wl,-rpath,"$prefix/lib"
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
        OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_orte_tmpdir_base="$work/dist"
    for p in build/dist_app dist_app-pc; do
        mpirun -np 2 --oversubscribe --bind-to none "$work/dist/$p"
    done
fi

echo "=== examples against the install"
cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/examples" -j2 >/dev/null
ctest --test-dir "$work/examples" --output-on-failure
echo "README's build and install commands work"
