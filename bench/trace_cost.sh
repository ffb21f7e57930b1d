#!/bin/sh
# trace_cost.sh: what tracing costs. weft's fib(35), join_overhead and small_loop rows
# (weft/trace.h's recording points sit on their paths: jobs, steals, idle searches,
# sleeps, parks, loops and chunks) in three configurations, run interleaved round by
# round (none, off, on; the next round starts with off, the next with on), so that the
# machine's slow and fast minutes fall on all three alike:
#   none  the `notrace` preset's weft-bench: WEFT_TRACING=OFF, the points compiled out;
#   off   the default preset's: the points compiled in, tracing off (the default);
#   on    the same binary under WEFT_TRACE (a scratch file, the default ring size):
#         every point records, for the whole process, calibration included.
# Builds both binaries first (cmake --preset notrace / default). Prints every run's
# medians, then per row and configuration the median of the runs' medians, the lowest
# and highest, and the ratios off/none and on/none. Record them in docs/perf-log.md.
#
# Usage: bench/trace_cost.sh [ROUNDS [REPS]]     (defaults 5 and 5; from the source tree)
# POSIX sh + awk; cmake for the builds.
set -eu
rounds=${1:-5}
reps=${2:-5}
filter='^(fib/n=35|join_overhead/empty|small_loop/n=2000)/weft$'
cmake --preset notrace >/dev/null && cmake --build --preset notrace -j2 >/dev/null
cmake --preset default >/dev/null && cmake --build --preset default -j2 --target weft-bench >/dev/null
none=build/notrace/bench/weft-bench
with=build/default/bench/weft-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
split_csv=$(cat "$(dirname "$0")/csv.awk")

# run CONFIG BENCH [ENV...]: one run of the rows; appends "config row threads value" lines.
run() {
    config=$1 bench=$2
    shift 2
    env "$@" "$bench" --filter "$filter" --reps "$reps" --csv "$work/run.csv" >/dev/null 2>&1 ||
        { echo "trace_cost.sh: $config run failed" >&2; exit 1; }
    rm -f "$work/trace.json"
    awk -v config="$config" "$split_csv"'
        NR == 1 { n = split_csv($0); for (i = 1; i <= n; i++) col[F[i]] = i; next }
        { split_csv($0); print config, F[col["benchmark"]] "/" F[col["param"]], F[col["threads"]], F[col["value"]], F[col["value_unit"]] }
    ' "$work/run.csv" | tee -a "$work/all"
}

# one CONFIG: a run of that configuration.
one() {
    case $1 in
    none) run none "$none" ;;
    off) run off "$with" ;;
    on) run on "$with" WEFT_TRACE="$work/trace.json" ;;
    esac
}
i=0
while [ "$i" -lt "$rounds" ]; do
    i=$((i + 1))
    echo "round $i of $rounds" >&2
    # The first configuration rotates each round: none never always runs first.
    case $((i % 3)) in
    1) one none; one off; one on ;;
    2) one off; one on; one none ;;
    0) one on; one none; one off ;;
    esac
done
echo
sort -k2,2 -k3,3n -k1,1 -k4,4g "$work/all" | awk '
    {
        key = $2 " " $3 " " $1
        if (!(key in n)) { n[key] = 0; order[++k] = key }
        v[key "#" ++n[key]] = $4
        unit[$2] = $5
    }
    END {
        printf "%-24s %7s %-5s %12s %12s %12s %5s\n", "row", "threads", "build", "median", "lowest", "highest", "runs"
        for (i = 1; i <= k; i++) {
            key = order[i]; c = n[key]
            med = c % 2 ? v[key "#" (c + 1) / 2] : (v[key "#" c / 2] + v[key "#" (c / 2 + 1)]) / 2
            m[key] = med
            split(key, p, " ")
            printf "%-24s %7s %-5s %12.4g %12.4g %12.4g %5d  %s\n", p[1], p[2], p[3], med, v[key "#" 1], v[key "#" c], c, unit[p[1]]
        }
        print ""
        for (i = 1; i <= k; i++) {
            split(order[i], p, " ")
            base = p[1] " " p[2] " none"
            if (p[3] != "none" && (base in m) && m[base] > 0)
                printf "%s, %s thread(s): %s / none = %.3f (medians)\n", p[1], p[2], p[3], m[order[i]] / m[base]
        }
    }'
