# Configure, build and run tests/subproject (a parent project taking weft in through
# WEFT_CONSUME: add_subdirectory or fetchcontent) in WORK_DIR; or, with
# WEFT_CONSUME=no_criterion, configure weft itself as a top-level project with a
# pkg-config that finds hwloc and not Criterion, which must succeed with the Criterion
# suites left out.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

if(WEFT_CONSUME STREQUAL "no_criterion")
  execute_process(COMMAND pkg-config --variable=pcfiledir hwloc OUTPUT_VARIABLE hwloc_pc_dir
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  file(COPY ${hwloc_pc_dir}/hwloc.pc DESTINATION ${WORK_DIR}/pkgconfig)
  set(ENV{PKG_CONFIG_LIBDIR} ${WORK_DIR}/pkgconfig)
  unset(ENV{PKG_CONFIG_PATH})
  run(${CMAKE_COMMAND} -S ${WEFT_SOURCE_DIR} -B ${WORK_DIR}/build)
  if(NOT out MATCHES "criterion not found by pkg-config: the Criterion suites are not built")
    message(FATAL_ERROR "no warning about the Criterion suites:\n${out}")
  endif()
  message(STATUS "a plain configure without Criterion works")
  return()
endif()

# One parent sets no build type (weft must not set one for it), the other its own.
if(WEFT_CONSUME STREQUAL "add_subdirectory")
  set(build_type "")
else()
  set(build_type Release)
endif()
run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK_DIR}/build -DWEFT_CONSUME=${WEFT_CONSUME}
    -DWEFT_SOURCE_DIR=${WEFT_SOURCE_DIR} -DAPP_SOURCE=${APP_SOURCE}
    -DPARENT_BUILD_TYPE=${build_type} -DCMAKE_BUILD_TYPE=${build_type})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run(${WORK_DIR}/build/app)
run(${WORK_DIR}/build/app_static)
message(STATUS "weft through ${WEFT_CONSUME}: ${out}")
