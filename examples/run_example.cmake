# Run one example (PROGRAM, started by LAUNCHER when given: a list, e.g. mpirun and
# its options) and compare its standard output with the file EXPECTED, line for line. Fails when the program exits non-zero (a failed CHECK in the example,
# or a sanitizer report), or when the output differs; prints both outputs then.
# With TRACE (a file) and TRACE_TOOL (weft-trace): the example runs under
# WEFT_TRACE=TRACE, prints the same, and `weft-trace summary` reads the trace it wrote.
set(run ${LAUNCHER} ${PROGRAM})
if(TRACE)
  file(REMOVE "${TRACE}")
  set(run ${CMAKE_COMMAND} -E env "WEFT_TRACE=${TRACE}" ${LAUNCHER} ${PROGRAM})
endif()
execute_process(COMMAND ${run} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ ${EXPECTED} expected)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}\n--- stdout:\n${out}--- stderr:\n${err}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "${PROGRAM}: output differs from ${EXPECTED}\n--- expected:\n${expected}--- got:\n${out}--- stderr:\n${err}")
endif()
if(NOT err STREQUAL "")
  message(STATUS "stderr:\n${err}")
endif()
message(STATUS "output matches ${EXPECTED}")
if(TRACE)
  execute_process(COMMAND ${TRACE_TOOL} summary ${TRACE} OUTPUT_VARIABLE summary ERROR_VARIABLE serr
                  RESULT_VARIABLE src)
  if(NOT src EQUAL 0 OR NOT summary MATCHES "threads, [0-9.]+ ms traced")
    message(FATAL_ERROR "weft-trace summary ${TRACE}: exit ${src}\n${summary}${serr}")
  endif()
  file(REMOVE "${TRACE}")
  message(STATUS "traced: ${summary}")
endif()
