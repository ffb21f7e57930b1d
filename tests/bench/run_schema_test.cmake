# ctest bench_results_schema (cmake -P): runs weft-bench on two cheap rows with --json
# and --csv, validates the JSON with weft-bench-validate (tests/bench/validate_results.c,
# the constraints of bench/results.schema.json), checks the CSV's shape, then checks
# that the validator rejects broken copies of the same file (negative cases).
# In: BENCH, VALIDATE, WORK_DIR.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(json "${WORK_DIR}/out.json")
set(csv "${WORK_DIR}/out.csv")

execute_process(COMMAND "${BENCH}" --quick --reps 1 --threads 1
                        --filter "^(join_overhead/empty/(weft|serial)$|wake_latency/median/)"
                        --json "${json}" --csv "${csv}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "weft-bench failed (${rc}):\n${out}\n${err}")
endif()

execute_process(COMMAND "${VALIDATE}" "${json}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "out.json does not validate (${rc}):\n${out}${err}")
endif()
message(STATUS "${out}")

# The CSV: a header and one line per row (4 rows: 2 benchmarks x weft + peer), 19 columns.
file(STRINGS "${csv}" lines)
list(LENGTH lines nlines)
if(NOT nlines EQUAL 5)
  message(FATAL_ERROR "out.csv has ${nlines} lines, expected 5")
endif()
list(GET lines 0 header)
if(NOT header MATCHES "^benchmark,param,impl,threads,median_s,.*,checked$")
  message(FATAL_ERROR "out.csv header unexpected: ${header}")
endif()
foreach(line IN LISTS lines)
  string(REGEX REPLACE "\"[^\"]*\"" "s" flat "${line}")   # quoted fields have no commas inside here
  string(REGEX MATCHALL "," commas "${flat}")
  list(LENGTH commas ncommas)
  if(NOT ncommas EQUAL 18)
    message(FATAL_ERROR "out.csv line has ${ncommas} commas, expected 18: ${line}")
  endif()
endforeach()

# Negative cases: each broken copy must be rejected (exit status 1).
file(READ "${json}" good)
set(cases
  "truncated"        # syntax: the document is cut short
  "no_checked"       # a required property is missing
  "bad_impl"         # impl outside the pattern
  "threads_string"   # wrong type
  "extra_property"   # additionalProperties: false
  "negative_median"  # below the minimum
  "trailing_comma")  # syntax
foreach(case IN LISTS cases)
  set(bad "${good}")
  if(case STREQUAL "truncated")
    string(LENGTH "${good}" len)
    math(EXPR half "${len} / 2")
    string(SUBSTRING "${good}" 0 ${half} bad)
  elseif(case STREQUAL "no_checked")
    string(REPLACE ", \"checked\": true}" "}" bad "${good}")
  elseif(case STREQUAL "bad_impl")
    string(REPLACE "\"impl\": \"weft\"" "\"impl\": \"rayon\"" bad "${good}")
  elseif(case STREQUAL "threads_string")
    string(REPLACE "\"threads\": 1," "\"threads\": \"1\"," bad "${good}")
  elseif(case STREQUAL "extra_property")
    string(REPLACE "\"checked\": true}" "\"checked\": true, \"note\": 1}" bad "${good}")
  elseif(case STREQUAL "negative_median")
    string(REGEX REPLACE "\"median_s\": [0-9.e+-]+" "\"median_s\": -1" bad "${good}")
  elseif(case STREQUAL "trailing_comma")
    string(REPLACE "\n  ]\n}" ",\n  ]\n}" bad "${good}")
  endif()
  if(bad STREQUAL good)
    message(FATAL_ERROR "negative case ${case}: the edit did not apply")
  endif()
  file(WRITE "${WORK_DIR}/bad_${case}.json" "${bad}")
  execute_process(COMMAND "${VALIDATE}" "${WORK_DIR}/bad_${case}.json"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "negative case ${case}: the validator returned ${rc}, expected 1:\n${out}${err}")
  endif()
  message(STATUS "rejected as expected (${case}): ${err}")
endforeach()
