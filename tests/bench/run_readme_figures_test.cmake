# ctest bench_readme_figures (cmake -P): bench/readme_figures.sh, which renders the
# README's figure table from a weft-bench CSV, on the fixture tests/bench/readme_fixture.csv
# (+ .json). The fixture holds the figures the README publishes (the `make bench` run at
# fc898dc): every row the README cites, with the values it prints; rows it only
# counts or bounds (the channel scenarios other than the five it names) hold values
# inside the published range. Checks:
#  1. a small template: each kind of placeholder renders as expected;
#  2. splicing between the markers of a scratch README, and a second run leaves it be;
#  3. refusals (exit 1, scratch README untouched): a missing row, an unchecked row, a
#     --quick run, a README without markers, a placeholder without a format;
#  4. the real template renders from the fixture, and while the README still shows
#     the fixture's run (its JSON's git_commit) its block is exactly that rendering.
#  5. with BENCH, every row the template names is one weft-bench lists.
# In: SCRIPT, TEMPLATE, README, FIXTURE (the .csv; its .json beside it), WORK_DIR;
# BENCH (weft-bench) when the bench is built.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# render(<out var> <rc var> <args>...): run the script with sh, collecting stdout+stderr.
function(render out_var rc_var)
  execute_process(COMMAND sh "${SCRIPT}" ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${out_var} "${out}${err}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
endfunction()

# 1. Every kind of placeholder.
file(WRITE "${WORK_DIR}/small.md.in"
"run {{machine.git_commit; %s}} of {{machine.date; %s}}, {{reps; %d}} reps
| fib(35) | {{fib/n=35/weft@1; %.1f}} ns | {{fib/n=35/openmp@1:weft_ratio; %.1f}}x | {{fib/n=35/weft@1; fib/n=35/weft@2; %.2f}}x |
| triad | {{triad/n=2^24 x10/weft@2; 1e9; %.1f}} GB/s | {{reduce/n=1e8/weft@2:speedup; %.2f}}x serial |
| chan | {{min(^chan_[a-z_]+/[^/]+/pthread@):weft_ratio; %.2f}}x-{{max(^chan_[a-z_]+/[^/]+/pthread@):weft_ratio; %.0f}}x over {{count(^chan_[a-z_]+/[^/]+/pthread@); %d}} |
")
set(expected
"run fc898dc of 2026-12-03, 5 reps
| fib(35) | 3.9 ns | 8.4x | 1.47x |
| triad | 24.1 GB/s | 1.96x serial |
| chan | 1.32x-74x over 20 |
")
render(out rc "${FIXTURE}" "${WORK_DIR}/small.md.in")
if(NOT rc EQUAL 0 OR NOT out STREQUAL expected)
  message(FATAL_ERROR "small template (exit ${rc}):\n${out}\nexpected:\n${expected}")
endif()

# 2. Splicing between the markers, then nothing to do.
set(before "# title\n\n<!-- figures:begin -->\nold figures\n<!-- figures:end -->\n\ntail\n")
file(WRITE "${WORK_DIR}/README.md" "${before}")
render(out rc "${FIXTURE}" "${WORK_DIR}/small.md.in" "${WORK_DIR}/README.md")
file(READ "${WORK_DIR}/README.md" spliced)
if(NOT rc EQUAL 0 OR NOT spliced STREQUAL "# title\n\n<!-- figures:begin -->\n${expected}<!-- figures:end -->\n\ntail\n")
  message(FATAL_ERROR "splice (exit ${rc}): ${out}\ngot:\n${spliced}")
endif()
render(out rc "${FIXTURE}" "${WORK_DIR}/small.md.in" "${WORK_DIR}/README.md")
if(NOT rc EQUAL 0 OR NOT out MATCHES "unchanged")
  message(FATAL_ERROR "second splice should change nothing (exit ${rc}): ${out}")
endif()

# 3. Refusals: exit 1, the scratch README as it was.
file(WRITE "${WORK_DIR}/README.md" "${before}")
file(READ "${FIXTURE}" csv)
get_filename_component(fixture_json "${FIXTURE}" DIRECTORY)
get_filename_component(fixture_name "${FIXTURE}" NAME_WE)
file(READ "${fixture_json}/${fixture_name}.json" json)
file(WRITE "${WORK_DIR}/missing.md.in" "{{fib/n=99/weft@1; %.1f}}\n")
file(WRITE "${WORK_DIR}/noformat.md.in" "{{fib/n=35/weft@1}}\n")
string(REPLACE ",true\n\"nqueens\"" ",false\n\"nqueens\"" unchecked_csv "${csv}")
file(WRITE "${WORK_DIR}/unchecked.csv" "${unchecked_csv}")
file(WRITE "${WORK_DIR}/unchecked.json" "${json}")
string(REPLACE "\"quick\": false" "\"quick\": true" quick_json "${json}")
file(WRITE "${WORK_DIR}/quick.csv" "${csv}")
file(WRITE "${WORK_DIR}/quick.json" "${quick_json}")
file(WRITE "${WORK_DIR}/nomarkers.md" "# no markers\n")
if(unchecked_csv STREQUAL csv OR quick_json STREQUAL json)
  message(FATAL_ERROR "a negative case's edit did not apply")
endif()
foreach(case missing noformat unchecked quick nomarkers)
  set(csv_arg "${FIXTURE}")
  set(template "${WORK_DIR}/small.md.in")
  set(readme "${WORK_DIR}/README.md")
  set(want "")
  if(case STREQUAL "missing")
    set(template "${WORK_DIR}/missing.md.in")
    set(want "no row fib/n=99/weft@1")
  elseif(case STREQUAL "noformat")
    set(template "${WORK_DIR}/noformat.md.in")
    set(want "cannot read the placeholder")
  elseif(case STREQUAL "unchecked")
    set(csv_arg "${WORK_DIR}/unchecked.csv")
    set(want "did not check out")
  elseif(case STREQUAL "quick")
    set(csv_arg "${WORK_DIR}/quick.csv")
    set(want "--quick run")
  elseif(case STREQUAL "nomarkers")
    set(readme "${WORK_DIR}/nomarkers.md")
    set(want "figures:begin")
  endif()
  file(READ "${readme}" readme_before)
  render(out rc "${csv_arg}" "${template}" "${readme}")
  file(READ "${readme}" readme_after)
  if(NOT rc EQUAL 1 OR NOT out MATCHES "${want}" OR NOT readme_after STREQUAL readme_before)
    message(FATAL_ERROR "negative case ${case}: exit ${rc}, expected 1 with \"${want}\" and the README untouched:\n${out}")
  endif()
  message(STATUS "refused as expected (${case}): ${out}")
endforeach()

# 4. The real template, and the README while it still shows the fixture's run.
render(out rc "${FIXTURE}" "${TEMPLATE}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench/readme_figures.md.in does not render from the fixture (exit ${rc}):\n${out}")
endif()
file(READ "${README}" readme)
string(FIND "${readme}" "<!-- figures:begin -->\n" b)
string(FIND "${readme}" "<!-- figures:end -->" e)
if(b LESS 0 OR e LESS b)
  message(FATAL_ERROR "README.md has no <!-- figures:begin --> ... <!-- figures:end --> block")
endif()
math(EXPR b "${b} + 23")
math(EXPR len "${e} - ${b}")
string(SUBSTRING "${readme}" ${b} ${len} block)
string(REGEX MATCH "\"git_commit\": \"([^\"]*)\"" m "${json}")
set(fixture_commit "${CMAKE_MATCH_1}")
string(FIND "${block}" "commit `${fixture_commit}`" shows_fixture)
if(fixture_commit AND shows_fixture GREATER_EQUAL 0)
  if(NOT block STREQUAL out)
    file(WRITE "${WORK_DIR}/rendered.md" "${out}")
    file(WRITE "${WORK_DIR}/readme_block.md" "${block}")
    message(FATAL_ERROR "README.md's figures differ from the template rendered with the fixture of their run: "
                        "diff ${WORK_DIR}/readme_block.md ${WORK_DIR}/rendered.md")
  endif()
  message(STATUS "README.md's figures are the template rendered from the fixture (run ${fixture_commit})")
else()
  message(STATUS "README.md's figures come from a newer run than the fixture's: block not compared")
endif()

# 5. With BENCH (weft-bench, when the bench is built): every row the real template
# names is one weft-bench runs (--list; 5 and 8 threads for the channel shapes), so a
# renamed row fails here rather than at the next `make readme-figures`. Without TBB in
# this build its rows are not listed, and the template's tbb rows are not checked.
if(DEFINED BENCH)
  execute_process(COMMAND "${BENCH}" --list --threads 1,2,5,8
                  RESULT_VARIABLE rc OUTPUT_VARIABLE listing ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "weft-bench --list failed (${rc}): ${err}")
  endif()
  set(known "")
  string(REPLACE "\n" ";" lines "${listing}")
  foreach(line IN LISTS lines)
    if(line MATCHES "^(.+)  threads: ([0-9 ]+)  \\(")
      set(name "${CMAKE_MATCH_1}")
      string(REPLACE " " ";" counts "${CMAKE_MATCH_2}")
      foreach(t IN LISTS counts)
        list(APPEND known "${name}@${t}")
      endforeach()
    endif()
  endforeach()
  string(FIND "${listing}" "/tbb  threads:" has_tbb)
  file(READ "${TEMPLATE}" template_text)
  string(REGEX MATCHALL "{{[^}]*}}" placeholders "${template_text}")
  set(checked_rows 0)
  # The placeholders' own ";" make each term (or format) one element of the list.
  foreach(term IN LISTS placeholders)
    string(REGEX REPLACE "^{{|}}$" "" term "${term}")
    string(STRIP "${term}" term)
    if(NOT term MATCHES "@" OR term MATCHES "^(min|max|count)\\(")
      continue()
    endif()
    string(REGEX REPLACE ":[a-z_]+$" "" row "${term}")
    if(row MATCHES "/tbb@" AND has_tbb LESS 0)
      continue()
    endif()
    list(FIND known "${row}" at)
    if(at LESS 0)
      message(FATAL_ERROR "bench/readme_figures.md.in names ${row}, which weft-bench --list does not list")
    endif()
    math(EXPR checked_rows "${checked_rows} + 1")
  endforeach()
  message(STATUS "${checked_rows} row references of the template are rows weft-bench runs")
endif()
