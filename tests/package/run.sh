#!/bin/sh
# run.sh BUILD_DIR SOURCE_DIR WORK_DIR: the Debian packages test. Builds them with
# CPack from BUILD_DIR (what `make package` does), checks their names, dependencies
# and contents (cmake/weft_package.cmake says what each holds), unpacks both into a
# scratch root with `dpkg -x` (no root, no dpkg database), and builds and runs
# tests/install's app against that root: plain cc with an rpath into it, pkg-config's
# weft-static, and find_package; with dist/ built, its two packages the same way and
# tests/install/dist's program on 2 ranks. Exit 77 (skipped) where dpkg-deb is missing.
set -eu
build=$1
src=$2
work=$3
command -v dpkg-deb >/dev/null || { echo "no dpkg-deb: not a Debian system"; exit 77; }
fail() { echo "package_deb: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack failed"; }

cd "$work/out"
want=2
[ -e "$build/libweft_dist.so" ] && want=4 # dist/ built: its two packages too
[ "$(ls ./*.deb | wc -l)" = "$want" ] || fail "want $want packages, got: $(ls ./*.deb)"
dev=$(ls libweft-dev_*.deb)
runtime=$(ls libweft[0-9]*_*.deb)
name=$(dpkg-deb -f "$runtime" Package)
version=$(dpkg-deb -f "$runtime" Version)
soname=$(readelf -dW "$build/libweft.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$name" = "libweft${soname#libweft.so.}" ] || fail "runtime package $name for soname $soname"
[ "$(dpkg-deb -f "$dev" Version)" = "$version" ] || fail "the two packages' versions differ"
echo "$runtime: Depends: $(dpkg-deb -f "$runtime" Depends)"
echo "$dev: Depends: $(dpkg-deb -f "$dev" Depends)"
dpkg-deb -f "$runtime" Depends | grep -q 'libhwloc15' || fail "$name does not depend on libhwloc15"
dpkg-deb -f "$dev" Depends | grep -qF "$name (= $version)" || fail "libweft-dev does not depend on $name (= $version)"
dpkg-deb -f "$dev" Depends | grep -q 'libhwloc-dev' || fail "libweft-dev does not depend on libhwloc-dev"
# Contents: the runtime package has the shared library only; -dev has the rest.
files() { dpkg-deb -c "$1" | awk '$6 !~ /\/$/ { print $6 }'; }
files "$runtime" | grep -v '^\./usr/lib/libweft\.so\.[0-9]' && fail "$name holds more than the shared library"
for f in usr/include/weft.h usr/include/weft/runtime.h usr/lib/libweft.a usr/lib/libweft.so \
         usr/lib/cmake/weft/weftConfig.cmake usr/lib/pkgconfig/weft.pc usr/lib/pkgconfig/weft-static.pc; do
    files "$dev" | grep -qx "\./$f" || fail "libweft-dev lacks /$f"
done
files "$dev" | grep '^\./usr/lib/libweft\.so\.' && fail "libweft-dev holds the shared library itself"

root=$work/root
dpkg -x "$runtime" "$root"
dpkg -x "$dev" "$root"
lib=$root/usr/lib
app=$src/tests/install/app.c
cc "$app" -o "$work/app-cc" -I"$root/usr/include" -L"$lib" -lweft -pthread -Wl,-rpath,"$lib"
"$work/app-cc"
ldd "$work/app-cc" | grep -q "libweft\.so\.[0-9]* => $lib/" || fail "app-cc does not load the unpacked libweft.so"
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is meant
cc "$app" -o "$work/app-static" $(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --cflags --libs weft-static)
"$work/app-static"
cmake -S "$src/tests/install" -B "$work/app" -DCMAKE_PREFIX_PATH="$root/usr" >/dev/null
cmake --build "$work/app" >/dev/null
"$work/app/app"
"$work/app/app_static"
echo "$runtime and $dev: built, unpacked, linked against"

# dist/'s packages: names, dependencies, contents; then tests/install/dist's program
# built with mpicc against the unpacked root (pkg-config's weft-dist) and run on 2
# ranks.
[ "$want" = 4 ] || exit 0
ddev=$(ls libweft-dist-dev_*.deb)
drt=$(ls libweft-dist[0-9]*_*.deb)
[ "$(dpkg-deb -f "$drt" Package)" = "libweft-dist${soname#libweft.so.}" ] || fail "dist package $drt for soname $soname"
[ "$(dpkg-deb -f "$drt" Version)" = "$version" ] && [ "$(dpkg-deb -f "$ddev" Version)" = "$version" ] ||
    fail "the dist packages' versions differ from $version"
echo "$drt: Depends: $(dpkg-deb -f "$drt" Depends)"
echo "$ddev: Depends: $(dpkg-deb -f "$ddev" Depends)"
dpkg-deb -f "$drt" Depends | grep -qF "$name (= $version)" || fail "$drt does not depend on $name (= $version)"
dpkg-deb -f "$drt" Depends | grep -q 'libopenmpi' || fail "$drt does not depend on Open MPI"
dpkg-deb -f "$ddev" Depends | grep -qF "libweft-dev (= $version)" || fail "$ddev does not depend on libweft-dev"
files "$drt" | grep -v '^\./usr/lib/libweft_dist\.so\.[0-9]' && fail "$drt holds more than the shared library"
for f in usr/include/weft/dist.h usr/lib/libweft_dist.a usr/lib/libweft_dist.so \
         usr/lib/cmake/weft/weftDistTargets.cmake usr/lib/pkgconfig/weft-dist.pc; do
    files "$ddev" | grep -qx "\./$f" || fail "$ddev lacks /$f"
done
files "$dev" | grep -q 'dist' && fail "libweft-dev holds dist/ files"
command -v mpicc >/dev/null && command -v mpirun >/dev/null || { echo "no mpicc/mpirun: dist program not built"; exit 0; }
dpkg -x "$drt" "$root"
dpkg -x "$ddev" "$root"
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is meant
mpicc "$src/tests/install/dist/dist_app.c" -o "$work/dist_app" \
    $(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --cflags --libs weft-dist) -Wl,-rpath,"$lib"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
    OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_orte_tmpdir_base="$work"
mpirun -np 2 --oversubscribe --bind-to none "$work/dist_app"
echo "$drt and $ddev: built, unpacked, linked against, run on 2 ranks"
