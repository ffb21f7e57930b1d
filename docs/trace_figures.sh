#!/bin/sh
# trace_figures.sh: the pictures of docs/guide.md, section 13 ("Why doesn't my loop
# scale?"), from a real run: builds example_13_trace and weft-trace (the default
# preset), runs the example, whose four traced loops are the section's two stories and
# their fixes, and draws them into docs/images/ with `weft-trace plot`:
#   trace-imbalanced.png           the skewed loop in two halves (13_trace_halves.json)
#   trace-imbalanced-adaptive.png  the same loop, grain 0 (13_trace_adaptive.json)
#   trace-fine-grain.png           the loop of 16384 chunks of 16 (13_trace_fine.json),
#                                  a 20 us window from 40 % of the way in: whole, its
#                                  chunks are too thin to see
#   trace-fine-grain-adaptive.png  the same loop, grain 0, the same window width
# and prints each trace's `weft-trace summary`, the text the section quotes (paste it
# in when the pictures change: they come from the same run).
#
# Usage: sh docs/trace_figures.sh [BUILD_DIR]   (from the source tree; default
# build/default). Needs gnuplot. Run it on a quiet machine: the traces are wall-clock
# time, and a preempted chunk shows as a long one.
set -eu
build=${1:-build/default}
out=docs/images
[ -f docs/guide.md ] || { echo "trace_figures.sh: run it from the source tree" >&2; exit 2; }
mkdir -p "$out"
if [ "$build" = build/default ]; then
    cmake --preset default >/dev/null
    cmake --build --preset default -j2 --target example_13_trace weft-trace >/dev/null
fi
tool=$build/tools/weft-trace
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
(cd "$work" && TMPDIR= "$OLDPWD/$build/examples/example_13_trace" >/dev/null)

# window JSON WIDTH_MS: "FROM TO", a window of the given width from 40 % of the trace.
window() {
    "$tool" summary "$1" | awk -v w="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ms") t = $(i - 1) }
        END { printf "%.6f %.6f\n", 0.4 * t, 0.4 * t + w }'
}

for pair in halves:imbalanced adaptive:imbalanced-adaptive fine:fine-grain fine_adaptive:fine-grain-adaptive; do
    trace=$work/13_trace_${pair%%:*}.json
    png=$out/trace-${pair#*:}.png
    case $pair in
    fine*) range=$(window "$trace" 0.02) ;;
    *) range="" ;;
    esac
    # shellcheck disable=SC2086 # range: nothing, or two numbers
    "$tool" plot "$trace" "$png" $range
    echo "== $png${range:+ (from, to ms: $range)}"
    "$tool" summary "$trace" | sed "s|$work/||"
    echo
done
