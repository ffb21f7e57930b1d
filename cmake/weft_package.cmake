# weft_package.cmake: the Debian packages, built by CPack (`make package`, or the
# `package` target of a build): libweft<ABI> with the shared library (the install
# component `runtime`) and libweft-dev with everything to build against it
# (component `dev`: headers, the libweft.so link, libweft.a, the CMake package and
# the pkg-config modules), both under /usr; with dist/ built, libweft-dist<ABI> and
# libweft-dist-dev (components `dist` and `dist_dev`) the same way.
#
# Invariants: the runtime package's name carries the soname's number, so two ABIs
# can be installed side by side; libweft-dev depends on exactly the libweft<ABI> of
# its own version (its libweft.so link points into it). The runtime package's
# dependencies come from dpkg-shlibdeps (libc6, libhwloc15 with the versions the
# library was linked against), and it ships a shlibs file and an ldconfig trigger.
# Tested by tests/package/run.sh (ctest `package_deb`).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME weft)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "work-stealing task-parallel runtime for C")
set(CPACK_PACKAGE_CONTACT "weft developers <weft@invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # <package>_<version>_<arch>.deb

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libweft${WEFT_ABI_VERSION})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "work-stealing task-parallel runtime for C (shared library)
 weft gives C programs fork-join, parallel loops, reductions and sorts on a
 work-stealing pool, futex-based locks and MPMC channels.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libweft-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION "work-stealing task-parallel runtime for C (development files)
 Headers, the static library, the CMake package (find_package(weft)) and the
 pkg-config modules weft and weft-static.")
# weftConfig.cmake finds hwloc through pkg-config.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libweft${WEFT_ABI_VERSION} (= ${PROJECT_VERSION}), libhwloc-dev, pkg-config")

# dist/, when built (MPI found): libweft-dist<ABI> and libweft-dist-dev, the same split.
# Their dependencies are written out: dpkg-shlibdeps cannot resolve libweft.so, which
# no installed package provides while the packages are being made. Open MPI's runtime
# package on Debian 12 is libopenmpi3 (libmpi.so.40).
if(WEFT_HAVE_DIST)
  list(APPEND CPACK_COMPONENTS_ALL dist dist_dev)
  set(CPACK_DEBIAN_DIST_PACKAGE_NAME libweft-dist${WEFT_ABI_VERSION})
  set(CPACK_DEBIAN_DIST_PACKAGE_SECTION libs)
  set(CPACK_DEBIAN_DIST_DESCRIPTION "weft's loops across MPI ranks (shared library)
 weft_dist_par_for, weft_dist_par_reduce and weft_dist_par_map: the iteration space
 shared by the ranks of an MPI job, each rank a weft pool.")
  set(CPACK_DEBIAN_DIST_PACKAGE_DEPENDS "libweft${WEFT_ABI_VERSION} (= ${PROJECT_VERSION}), libopenmpi3, libc6")
  set(CPACK_DEBIAN_DIST_DEV_PACKAGE_NAME libweft-dist-dev)
  set(CPACK_DEBIAN_DIST_DEV_PACKAGE_SECTION libdevel)
  set(CPACK_DEBIAN_DIST_DEV_DESCRIPTION "weft's loops across MPI ranks (development files)
 The header weft/dist.h, the static library, the CMake targets (weft::weft_dist) and
 the pkg-config module weft-dist.")
  set(CPACK_DEBIAN_DIST_DEV_PACKAGE_DEPENDS
      "libweft-dist${WEFT_ABI_VERSION} (= ${PROJECT_VERSION}), libweft-dev (= ${PROJECT_VERSION}), libopenmpi-dev")
endif()

include(CPack)
