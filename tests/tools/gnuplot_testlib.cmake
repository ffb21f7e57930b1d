# gnuplot_testlib.cmake: what the cmake -P tests that draw with gnuplot share
# (tests/tools/run_plot_test.cmake, tests/bench/run_timelines_test.cmake).

# skip_without_gnuplot(NAME): without gnuplot on PATH, say "NAME: SKIP, ..." (the
# test's SKIP_REGULAR_EXPRESSION matches it: cmake -P cannot exit 77) and end the
# script (a macro: its return() returns from the script that calls it).
macro(skip_without_gnuplot name)
  find_program(GNUPLOT gnuplot)
  if(NOT GNUPLOT)
    message(STATUS "${name}: SKIP, gnuplot is not installed (apt-get install gnuplot-nox)")
    return()
  endif()
endmacro()

# expect_png(PNG): the file was written and starts with the 8-byte PNG signature.
function(expect_png png)
  if(NOT EXISTS "${png}")
    message(FATAL_ERROR "${png} was not written")
  endif()
  file(READ "${png}" sig LIMIT 8 HEX)
  if(NOT sig STREQUAL "89504e470d0a1a0a")
    message(FATAL_ERROR "${png} does not start with the PNG signature: ${sig}")
  endif()
  file(SIZE "${png}" size)
  message(STATUS "${png}: ${size} bytes")
endfunction()
