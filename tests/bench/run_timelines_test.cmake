# ctest bench_timelines (cmake -P): bench/timelines.sh, the bench report's timeline
# pictures. On a scratch report it draws the traces of two cheap rows (FILTER), puts
# them in a "## Timelines" section before the report's next section, and a second run
# replaces that section instead of adding one (`make bench` stays idempotent). Then
# the default rows (one each of fib, mandel and sort at --quick sizes) are checked to
# exist, so the script's default filter keeps naming rows weft-bench has. Without
# gnuplot the test is skipped.
# In: SCRIPT, BENCH (weft-bench), TOOL (weft-trace), WORK_DIR.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# The default filter names a --quick row of each family.
file(STRINGS "${SCRIPT}" default_line REGEX "^default=")
string(REGEX REPLACE "^default='(.*)'$" "\\1" default_filter "${default_line}")
execute_process(COMMAND "${BENCH}" --quick --list --filter "${default_filter}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE listed ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "weft-bench --list --filter '${default_filter}': exit ${rc}\n${err}")
endif()
foreach(family fib mandel sort)
  if(NOT listed MATCHES "(^|\n)${family}/[^\n]*/weft ")
    message(FATAL_ERROR "timelines.sh's default filter names no --quick ${family} row:\n${listed}")
  endif()
endforeach()

include(${CMAKE_CURRENT_LIST_DIR}/../tools/gnuplot_testlib.cmake)
skip_without_gnuplot(bench_timelines)

set(report "${WORK_DIR}/latest.md")
file(WRITE "${report}" "# weft-bench\n\ntable\n\n## Timelines\n\nan old section\n\n## Charts\n\n![speedup](speedup.png)\n")
set(filter "^(fib/n=20|mandel/seahorse [^/]* static)/weft$")
foreach(round 1 2)
  execute_process(COMMAND sh "${SCRIPT}" "${BENCH}" "${TOOL}" "${WORK_DIR}" "${report}" "${filter}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "timelines.sh (round ${round}): exit ${rc}\n${out}${err}")
  endif()
endforeach()
file(READ "${report}" text)
string(REGEX MATCHALL "## Timelines" sections "${text}")
list(LENGTH sections n)
if(NOT n EQUAL 1 OR text MATCHES "an old section" OR NOT text MATCHES "## Charts")
  message(FATAL_ERROR "the report should hold one new Timelines section and its Charts:\n${text}")
endif()
file(GLOB pngs "${WORK_DIR}/timelines/*.png")
list(LENGTH pngs npng)
if(npng LESS 2)
  message(FATAL_ERROR "want a picture per traced row, got: ${pngs}")
endif()
foreach(png IN LISTS pngs)
  expect_png("${png}")
  get_filename_component(name "${png}" NAME)
  string(FIND "${text}" "(timelines/${name})" at)
  if(at LESS 0)
    message(FATAL_ERROR "the report does not show ${name}")
  endif()
endforeach()
if(NOT text MATCHES "critical span")
  message(FATAL_ERROR "the report lacks the summaries' text")
endif()
