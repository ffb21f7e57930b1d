# Run one example (PROGRAM, started by LAUNCHER when given: a list, e.g. mpirun and
# its options) and compare its standard output with the file EXPECTED, line for line. Fails when the program exits non-zero (a failed CHECK in the example,
# or a sanitizer report), or when the output differs; prints both outputs then.
execute_process(COMMAND ${LAUNCHER} ${PROGRAM} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
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
