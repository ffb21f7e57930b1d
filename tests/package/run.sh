#!/bin/sh
# run.sh BUILD_DIR SOURCE_DIR WORK_DIR: the Debian packages test. Builds them with
# CPack from BUILD_DIR (what `make package` does), checks their names, dependencies
# and contents (cmake/weft_package.cmake says what each holds), unpacks both into a
# scratch root with `dpkg -x` (no root, no dpkg database), and builds and runs
# tests/install's app against that root: plain cc with an rpath into it, pkg-config's
# weft-static, and find_package. Exit 77 (skipped) where dpkg-deb is missing.
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
[ "$(ls ./*.deb | wc -l)" = 2 ] || fail "want two packages, got: $(ls ./*.deb)"
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
