# Install the weft build at WEFT_BUILD_DIR into a scratch prefix, then configure,
# build and run the consumer project in CONSUMER_DIR against it with find_package(weft),
# and compile it once more with only `pkg-config --cflags --libs weft`; with
# EXAMPLES_DIR, build and run the examples as a standalone project too.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${WEFT_BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer)
run(${WORK_DIR}/consumer/consumer_static)
# pkg-config: the .pc file must give everything needed to compile and link.
file(GLOB pcdir ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "${pcdir}")
execute_process(COMMAND pkg-config --cflags --libs weft OUTPUT_VARIABLE flags
                OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config weft failed")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
file(GLOB libdir ${prefix}/lib*)
run(cc -std=c11 ${CONSUMER_DIR}/main.c ${flags} -Wl,-rpath,${libdir} -o ${WORK_DIR}/consumer_pc)
run(${WORK_DIR}/consumer_pc)
# The examples, built standalone against the install (as a reader of docs/guide.md
# would build them) and run with their own ctest.
if(EXAMPLES_DIR)
  run(${CMAKE_COMMAND} -S ${EXAMPLES_DIR} -B ${WORK_DIR}/examples -DCMAKE_PREFIX_PATH=${prefix})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/examples -j2)
  get_filename_component(cmake_bin ${CMAKE_COMMAND} DIRECTORY)
  run(${cmake_bin}/ctest --test-dir ${WORK_DIR}/examples --output-on-failure)
endif()
message(STATUS "find_package(weft) and pkg-config weft both work")
