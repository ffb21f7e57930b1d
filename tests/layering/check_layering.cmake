# check_layering.cmake: the layering of docs/design.md section 1, as the build
# enforces it. Run by the ctest `layering` (tests/CMakeLists.txt) with
#   -DCC=<the C compiler> -DSOURCE_DIR=<weft's source> -DDIRS=<file>
# where DIRS, written by the build (file(GENERATE)), sets dirs_<module> to the
# include directories the build compiles weft_<module>'s sources with.
#
# For each module and each public header, a one-line probe `#include <header>` is
# compiled (-fsyntax-only) with that module's include directories: it must compile
# when the header belongs to the module, to a module below it, or is weft/common.h,
# and fail with the header not found otherwise (weft.h included, which names every
# module). No module's include directories may hold an internal header, and no source
# of a module may include a path ("../runtime/pool_internal.h"), which would reach
# around them.
cmake_minimum_required(VERSION 3.25)
include(${DIRS})

# The layering: the modules each module may use, itself excepted.
set(below_sync "")
set(below_runtime sync)
set(below_par runtime sync)
set(below_chan sync)
set(below_dist par runtime sync)
set(modules sync runtime par chan)
# dist/ is built only when MPI is found: checked when the build gives its directories.
if(DEFINED dirs_dist)
  list(APPEND modules dist)
endif()

set(work ${CMAKE_CURRENT_BINARY_DIR}/layering_probes)
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work})
set(failures "")
set(checked 0)

# compile(module header expect): expect is "ok" or "missing".
function(compile module header expect)
  string(MAKE_C_IDENTIFIER "${module}_${header}" id)
  set(probe ${work}/${id}.c)
  file(WRITE ${probe} "#include ${header}\n")
  set(flags -std=c11 -D_GNU_SOURCE -DWEFT_BUILDING=1)
  foreach(d IN LISTS dirs_${module})
    list(APPEND flags -I${d})
  endforeach()
  execute_process(COMMAND ${CC} ${flags} -fsyntax-only ${probe}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(expect STREQUAL "ok" AND NOT rc EQUAL 0)
    set(msg "${module}/ cannot include ${header}, which is below it:\n${out}")
  elseif(expect STREQUAL "missing" AND rc EQUAL 0)
    set(msg "${module}/ can include ${header}, which is not below it")
  elseif(expect STREQUAL "missing" AND NOT out MATCHES "(No such file or directory|file not found)")
    set(msg "${module}/ including ${header} fails, but not for a missing header:\n${out}")
  else()
    math(EXPR n "${checked} + 1")
    set(checked ${n} PARENT_SCOPE)
    return()
  endif()
  set(failures "${failures}${msg}\n" PARENT_SCOPE)
endfunction()

foreach(module IN LISTS modules)
  if(NOT DEFINED dirs_${module} OR dirs_${module} STREQUAL "")
    message(FATAL_ERROR "${DIRS} gives no include directories for ${module}")
  endif()
  compile(${module} <weft/common.h> ok)
  compile(${module} <weft.h> missing)
  foreach(owner IN LISTS modules)
    if(owner STREQUAL module OR owner IN_LIST below_${module})
      set(expect ok)
    else()
      set(expect missing)
    endif()
    file(GLOB headers ${SOURCE_DIR}/${owner}/include/weft/*.h)
    if(NOT headers)
      message(FATAL_ERROR "no public headers in ${SOURCE_DIR}/${owner}/include/weft")
    endif()
    foreach(h IN LISTS headers)
      get_filename_component(name ${h} NAME)
      compile(${module} <weft/${name}> ${expect})
    endforeach()
    # Internal headers: reachable only from their own directory (a "" include).
    file(GLOB internals ${SOURCE_DIR}/${owner}/*_internal.h)
    foreach(h IN LISTS internals)
      get_filename_component(name ${h} NAME)
      compile(${module} "\"${name}\"" missing)
    endforeach()
  endforeach()
  # No include of a path from a module's sources.
  file(GLOB sources ${SOURCE_DIR}/${module}/*.c ${SOURCE_DIR}/${module}/*.h)
  foreach(src IN LISTS sources)
    file(STRINGS ${src} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"][^>\"]*\\.\\./")
    foreach(line IN LISTS lines)
      set(failures "${failures}${src}: includes a path out of its directory: ${line}\n")
    endforeach()
  endforeach()
endforeach()

if(failures)
  message(FATAL_ERROR "layering broken:\n${failures}")
endif()
message(STATUS "layering holds: ${checked} include probes as expected")
