# ctest weft_trace_plot (cmake -P): `weft-trace plot` on a fixture trace (every span
# kind, a thread name with a quote in it) and, when given, on a trace a traced example
# wrote (TRACED: a program run with WEFT_TRACE); each must leave a PNG (the 8-byte
# signature), and a window of the fixture. Then the error paths: usage and a bad
# window (exit 2), an unreadable trace and an empty window (exit 1), and no gnuplot on
# PATH (exit 3). Without gnuplot the test exits 77 (skipped).
# In: TOOL, FIXTURE, WORK_DIR, optional TRACED.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(expect_exit want)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "${want}")
    message(FATAL_ERROR "${ARGN}: exit ${rc}, want ${want}\n${out}${err}")
  endif()
  set(last_err "${err}" PARENT_SCOPE)
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/gnuplot_testlib.cmake)

# The usage errors need no gnuplot.
expect_exit(2 "${TOOL}")
expect_exit(2 "${TOOL}" plot "${FIXTURE}")
expect_exit(2 "${TOOL}" plot "${FIXTURE}" a.png extra)
expect_exit(2 "${TOOL}" plot "${FIXTURE}" a.png 0.5 0.2) # a window must have from < to
expect_exit(2 "${TOOL}" plot "${FIXTURE}" a.png x 0.2)
expect_exit(2 "${TOOL}" draw "${FIXTURE}" a.png)
if(NOT last_err MATCHES "weft-trace plot FILE OUT.png \\[FROM_MS TO_MS\\]")
  message(FATAL_ERROR "the usage message does not mention plot:\n${last_err}")
endif()
expect_exit(1 "${TOOL}" plot "${WORK_DIR}/missing.json" "${WORK_DIR}/missing.png")

# No gnuplot on PATH: a clear message and exit 3 (an empty directory as the PATH).
file(MAKE_DIRECTORY "${WORK_DIR}/empty-path")
expect_exit(3 ${CMAKE_COMMAND} -E env "PATH=${WORK_DIR}/empty-path" "${TOOL}" plot "${FIXTURE}" "${WORK_DIR}/no.png")
if(NOT last_err MATCHES "gnuplot not found")
  message(FATAL_ERROR "no gnuplot: unclear message:\n${last_err}")
endif()

skip_without_gnuplot(weft_trace_plot)

expect_exit(0 "${TOOL}" plot "${FIXTURE}" "${WORK_DIR}/fixture's plot.png")
expect_png("${WORK_DIR}/fixture's plot.png")
# A window (ms): the spans in it, cut at its edges; one with no span is an error.
expect_exit(0 "${TOOL}" plot "${FIXTURE}" "${WORK_DIR}/window.png" 0.1 0.3)
expect_png("${WORK_DIR}/window.png")
expect_exit(1 "${TOOL}" plot "${FIXTURE}" "${WORK_DIR}/empty.png" 50 60)
if(NOT last_err MATCHES "no spans to plot in that window")
  message(FATAL_ERROR "an empty window: unclear message:\n${last_err}")
endif()

if(TRACED)
  expect_exit(0 ${CMAKE_COMMAND} -E env "WEFT_TRACE=${WORK_DIR}/traced.json" "${TRACED}")
  expect_exit(0 "${TOOL}" plot "${WORK_DIR}/traced.json" "${WORK_DIR}/traced.png")
  expect_png("${WORK_DIR}/traced.png")
endif()
