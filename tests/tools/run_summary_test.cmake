# ctest weft_trace_summary (cmake -P): `weft-trace summary` as a user runs it. On the
# plot fixture: the thread table, the loop, the longest job and the critical span
# are printed. On a trace of 20 loops: the 12 longest are listed, in order, and the
# rest counted. A worker asleep at the trace's stop is idle, not blocked. Usage
# errors: exit 2; an unreadable trace: exit 1.
# In: TOOL, FIXTURE, WORK_DIR.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(summary want_rc file)
  execute_process(COMMAND "${TOOL}" summary "${file}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "${want_rc}")
    message(FATAL_ERROR "weft-trace summary ${file}: exit ${rc}, want ${want_rc}\n${out}${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

summary(0 "${FIXTURE}")
foreach(want "busy ms" "weft-1 " "\\[0, 1024\\)" "longest job: work_fn, 0.600 ms on weft-1"
             "critical span: [0-9.]+ ms" "parallelism \\(work / critical span\\)")
  if(NOT out MATCHES "${want}")
    message(FATAL_ERROR "the fixture's summary lacks '${want}':\n${out}")
  endif()
endforeach()

# 20 loops of 1..20 us on main, one after another: loops 8..19 are the 12 longest.
set(events "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"main\"}}")
set(ts 0)
foreach(k RANGE 0 19)
  math(EXPR dur "${k} + 1")
  string(APPEND events ",\n{\"ph\":\"X\",\"name\":\"par_for\",\"cat\":\"par\",\"pid\":1,\"tid\":1,\"ts\":${ts},\"dur\":${dur},\"args\":{\"begin\":0,\"end\":${dur}}}")
  math(EXPR ts "${ts} + ${dur} + 1")
endforeach()
file(WRITE "${WORK_DIR}/loops.json" "{\"traceEvents\":[\n${events}\n]}\n")
summary(0 "${WORK_DIR}/loops.json")
if(NOT out MATCHES "\n8 +\\[0, 9\\)" OR out MATCHES "\n7 +\\[0, 8\\)" OR NOT out MATCHES "\n19 +\\[0, 20\\)"
   OR NOT out MATCHES "the 12 longest of 20 loops; the other 8: 0.036 ms")
  message(FATAL_ERROR "20 loops: want loops 8..19 listed and 8 counted:\n${out}")
endif()

# A worker asleep when the trace stopped: its idle span was still open (not in the
# trace), the sleep and park inside it ended: idle and asleep, not blocked.
file(WRITE "${WORK_DIR}/asleep.json" "{\"traceEvents\":[
{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"weft-0\"}},
{\"ph\":\"X\",\"name\":\"job\",\"cat\":\"job\",\"pid\":1,\"tid\":2,\"ts\":0,\"dur\":100,\"args\":{}},
{\"ph\":\"X\",\"name\":\"sleep\",\"cat\":\"sched\",\"pid\":1,\"tid\":2,\"ts\":200,\"dur\":300,\"args\":{\"woken\":0}},
{\"ph\":\"X\",\"name\":\"park\",\"cat\":\"wait\",\"pid\":1,\"tid\":2,\"ts\":210,\"dur\":280,\"args\":{}}
]}
")
summary(0 "${WORK_DIR}/asleep.json")
if(NOT out MATCHES "weft-0 +0.200 +0.300 +0.300 +0.000 ")
  message(FATAL_ERROR "a worker asleep at the stop: want busy 0.2, idle 0.3, sleep 0.3, blocked 0:\n${out}")
endif()

execute_process(COMMAND "${TOOL}" summary RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "weft-trace summary with no file: exit ${rc}, want 2")
endif()
summary(1 "${WORK_DIR}/missing.json")
