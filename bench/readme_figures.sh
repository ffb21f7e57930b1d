#!/bin/sh
# readme_figures.sh: the README's figure table, rendered from a weft-bench --csv file,
# with sh and awk only (no python on a fresh Debian). `make readme-figures` runs it on
# bench/results/latest.csv.
#
#   sh bench/readme_figures.sh RESULTS.csv TEMPLATE [README]
#
# TEMPLATE is markdown with placeholders {{TERM; FORMAT}} and {{TERM; TERM; FORMAT}}
# (the first term over the second), FORMAT a printf conversion (%.1f, %.0f, %d, %s).
# A TERM is one of
#   ROW                 the row's value (in its unit: ns/call, B/s, cpu%, msgs/s, ...)
#   ROW:FIELD           another cell of the row: median_s, min_s, max_s, value_min,
#                       value_max, throughput, speedup, weft_ratio
#   min(RE):FIELD       the least (max: the greatest) FIELD over the rows whose name
#                       matches the awk regular expression RE; count(RE): how many
#   machine.git_commit  machine.date (the day, YYYY-MM-DD): from the run's JSON, the
#                       CSV's name with .json for .csv (the CSV has no machine header)
#   reps                timed reps per row
#   a number            itself (a divisor: {{ROW; 1e9; %.1f}} gives B/s as GB/s)
# where ROW is benchmark/param/impl@threads (weft-bench --list's name and one of its
# thread counts), e.g. fib/n=35/weft@2 or triad/n=2^24 x10/openmp@2.
#
# Without README, prints the rendered template. With README, replaces what stands
# between the lines <!-- figures:begin --> and <!-- figures:end --> by it (the marker
# lines stay) and says whether the file changed. Nothing is written when a placeholder
# names a row the run does not have or a cell that is empty, when any row of the run
# did not check out, or for a --quick run: exit status 1, each problem named on stderr.
# Exit status 0 otherwise, 2 on a usage error.
set -eu

usage="usage: readme_figures.sh RESULTS.csv TEMPLATE [README]"
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "$usage" >&2; exit 2; }
csv=$1 template=$2 readme=${3:-}
[ -r "$csv" ] || { echo "readme_figures.sh: cannot read $csv" >&2; exit 2; }
[ -r "$template" ] || { echo "readme_figures.sh: cannot read $template" >&2; exit 2; }
json=${csv%.csv}.json
if [ -r "$json" ]; then
  # weft-bench writes one "key": value pair per line in the machine object.
  get() { sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\} *$/\1/p" "$json" | head -n 1; }
  commit=$(get git_commit) date=$(get date) quick=$(get quick)
else
  commit="" date="" quick=""
fi
if [ "$quick" = true ]; then
  echo "readme_figures.sh: $json is a --quick run: its sizes are not the README's" >&2
  exit 1
fi

tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.new"' EXIT
split_csv=$(cat "$(dirname "$0")/csv.awk") # split_csv(line): the CSV reader
awk -v commit="$commit" -v date="$date" -v json="$json" "$split_csv"'
function fail(msg) { printf "readme_figures.sh: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"; bad = 1 }
function trim(x) { sub(/^[ \t]+/, "", x); sub(/[ \t]+$/, "", x); return x }
# The FIELD of a row, or "" after reporting why there is none.
function cell(row, field,    v) {
    if (!(field in col)) { fail("no field \"" field "\" (in " row ")"); return "" }
    if (!(row in seen)) { fail("no row " row " in the results"); return "" }
    if (V[row, "checked"] != "true") { fail("row " row " did not check out"); return "" }
    v = V[row, field]
    if (v == "") fail("row " row " has no " field)
    return v
}
# min(RE):FIELD, max(RE):FIELD, count(RE) over the rows whose name matches RE.
function aggregate(fn, re, field,    row, n, best, v) {
    n = 0
    for (row in seen) {
        if (row !~ re) continue
        if (fn == "count") { n++; continue }
        if ((v = cell(row, field)) == "") return ""
        if (n++ == 0 || (fn == "min" ? v + 0 < best + 0 : v + 0 > best + 0)) best = v
    }
    if (n == 0) { fail("no row matches " re); return "" }
    return fn == "count" ? n : best
}
# One TERM: its value, or "" after reporting why there is none.
function term(t,    field, k, v, fn) {
    if (t == "machine.git_commit" || t == "machine.date") {
        v = t == "machine.date" ? substr(date, 1, 10) : commit
        if (v == "") fail("no " t ": cannot read it from " json)
        return v
    }
    if (t ~ /^[0-9]+(\.[0-9]*)?([eE][0-9]+)?$/) return t   # a constant, e.g. 1e9 for GB/s
    if (t == "reps") return reps
    field = "value"
    if (match(t, /^(min|max|count)\(.*\)(:[a-z_]+)?$/)) {
        k = index(t, "(")
        fn = substr(t, 1, k - 1); t = substr(t, k + 1)
        k = length(t) - index(reverse(t), ")") + 1      # the last ")"
        if (substr(t, k + 1, 1) == ":") field = substr(t, k + 2)
        return aggregate(fn, substr(t, 1, k - 1), field)
    }
    if ((k = index(t, ":")) > 0) { field = substr(t, k + 1); t = substr(t, 1, k - 1) }
    return cell(t, field)
}
function reverse(x,    i, r) { r = ""; for (i = length(x); i > 0; i--) r = r substr(x, i, 1); return r }
function expand(inner,    p, n, a, b, fmt) {
    n = split(inner, p, ";")
    fmt = trim(p[n])
    if (n < 2 || n > 3 || fmt !~ /^%[-+ 0#]*[0-9]*(\.[0-9]+)?[fgeds]$/) {
        fail("cannot read the placeholder {{" inner "}}: want {{TERM; FORMAT}} or {{TERM; TERM; FORMAT}}")
        return "?"
    }
    a = term(trim(p[1]))
    if (a == "") return "?"
    if (n == 2) return sprintf(fmt, fmt ~ /[ds]$/ ? a : a + 0)
    b = term(trim(p[2]))
    if (b == "") return "?"
    if (b + 0 == 0) { fail("division by zero in {{" inner "}}"); return "?" }
    return sprintf(fmt, a / b)
}
FNR == 1 && NR == 1 {           # the CSV header: column names
    n = split_csv($0)
    for (i = 1; i <= n; i++) col[F[i]] = i
    next
}
NR == FNR {                     # a result row
    n = split_csv($0)
    key = F[col["benchmark"]] "/" F[col["param"]] "/" F[col["impl"]] "@" F[col["threads"]]
    seen[key] = 1
    for (name in col) V[key, name] = F[col[name]]
    if (F[col["checked"]] != "true") fail("row " key " did not check out: a failed run is not published")
    reps = F[col["reps"]]
    next
}
{                               # the template
    line = $0; out = ""
    while ((k = index(line, "{{")) > 0) {
        e = index(substr(line, k + 2), "}}")
        if (e == 0) { fail("unclosed {{"); break }
        out = out substr(line, 1, k - 1) expand(substr(line, k + 2, e - 1))
        line = substr(line, k + e + 3)
    }
    print out line
}
END { exit bad }
' "$csv" "$template" >"$tmp" || exit 1

if [ -z "$readme" ]; then
  cat "$tmp"
  exit 0
fi
[ -r "$readme" ] || { echo "readme_figures.sh: cannot read $readme" >&2; exit 2; }
awk -v block="$tmp" '
$0 == "<!-- figures:begin -->" { if (state != 0) exit 3; print; while ((getline l < block) > 0) print l; state = 1; next }
$0 == "<!-- figures:end -->"   { if (state != 1) exit 3; state = 2 }
state != 1 { print }
END { if (state != 2) exit 3 }
' "$readme" >"$tmp.new" || {
  echo "readme_figures.sh: $readme needs one <!-- figures:begin --> line, then one <!-- figures:end --> line" >&2
  exit 1
}
if cmp -s "$tmp.new" "$readme"; then
  echo "readme_figures.sh: $readme unchanged"
else
  cat "$tmp.new" >"$readme"
  echo "readme_figures.sh: $readme updated from $csv"
fi
