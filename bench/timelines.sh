#!/bin/sh
# timelines.sh: the timeline pictures of the bench report. Runs weft's rows of a fib, a
# mandel and a par_sort benchmark once each, small (--quick sizes, every CPU this
# process may use), traced (weft-bench --trace), draws each trace with `weft-trace
# plot` and puts the pictures, with `weft-trace summary`'s text, in a "Timelines"
# section of the report. `make bench` runs it after the timed suite: the traced runs
# are not the timed ones, and cost a second or two.
#
#   sh bench/timelines.sh WEFT_BENCH WEFT_TRACE OUTDIR [REPORT.md [FILTER]]
#
# Writes OUTDIR/timelines/ anew (<row>.json, <row>.png, <row>.txt: the trace, its
# picture, its summary); with REPORT.md, replaces the report's "## Timelines" section
# (or appends one), so running it again leaves one. FILTER: the rows (weft-bench
# --filter), by default one each of fib, mandel (the Seahorse zoom, adaptive) and
# sort (weft_par_sort with a comparator). Exit status: 0, or 1 (a tool failed, or
# gnuplot is missing). POSIX sh + awk.
set -eu
bench=${1:?usage: timelines.sh WEFT_BENCH WEFT_TRACE OUTDIR [REPORT.md [FILTER]]}
tool=${2:?usage: timelines.sh WEFT_BENCH WEFT_TRACE OUTDIR [REPORT.md [FILTER]]}
out=${3:?usage: timelines.sh WEFT_BENCH WEFT_TRACE OUTDIR [REPORT.md [FILTER]]}
md=${4:-}
default='^(fib/n=24|mandel/seahorse [^/]* static|sort/cmp [^/]*)/weft$'
filter=${5:-$default}
command -v gnuplot >/dev/null 2>&1 || { echo "timelines.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
dir=$out/timelines
rm -rf "$dir"
mkdir -p "$dir"
threads=$(nproc 2>/dev/null || echo 2)
# --quick: small problems; one rep, whose table goes to a log (the numbers are not the
# report's: a rep of ~10 ms says little).
if ! "$bench" --quick --reps 1 --threads "$threads" --filter "$filter" --trace "$dir" >"$dir/weft-bench.log" 2>&1; then
    cat "$dir/weft-bench.log" >&2
    echo "timelines.sh: the traced runs failed" >&2
    exit 1
fi
made=""
for json in "$dir"/*.json; do
    [ -e "$json" ] || continue
    base=${json%.json}
    "$tool" plot "$json" "$base.png"
    "$tool" summary "$json" | sed "s|^$dir/||" >"$base.txt"
    made="$made ${base##*/}"
done
[ -n "$made" ] || { echo "timelines.sh: no row matched $filter" >&2; exit 1; }
if [ "$filter" = "$default" ]; then # one of each, or the quick params have moved
    for bench_name in fib mandel sort; do
        case " $made" in
        *" $bench_name-"*) ;;
        *) echo "timelines.sh: no $bench_name row traced: does $default still name a --quick row?" >&2; exit 1 ;;
        esac
    done
fi
if [ -n "$md" ]; then
    # Drop an earlier Timelines section (to the next "## " heading or the end).
    [ -f "$md" ] || : >"$md"
    awk '/^## Timelines$/ { skip = 1; next } skip && /^## / { skip = 0 } !skip' "$md" >"$md.tmp"
    mv "$md.tmp" "$md"
    {
        printf '\n## Timelines\n\n'
        printf 'One run each of weft'"'"'s rows below, small (`--quick` sizes, %s threads), traced\n' "$threads"
        printf '(`weft-bench --trace`; not the timed runs): one row per thread, spans coloured by\n'
        printf 'kind (`weft-trace plot`), and `weft-trace summary`'"'"'s reading of the same trace\n'
        printf '(docs/api.md, "trace"; docs/guide.md, "Why doesn'"'"'t my loop scale?"). Job names are\n'
        printf '`weft-bench+0xoffset`: `addr2line -f -e weft-bench 0xoffset` names them.\n'
        for name in $made; do
            printf '\n### %s\n\n![%s](timelines/%s.png)\n\n```\n' "$name" "$name" "$name"
            cat "$dir/$name.txt"
            printf '```\n'
        done
    } >>"$md"
fi
for name in $made; do echo "timelines.sh: wrote $dir/$name.png"; done
