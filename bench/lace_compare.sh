#!/bin/sh
# lace_compare.sh: fib(35) with a fork per call, Lace against weft's two fork-join
# forms, run interleaved (Lace 1 thread, weft 1 thread, Lace 2, weft 2, then the next
# round), so that the machine's slow and fast minutes fall on all of them alike.
# Lace is not a bench dependency: build it first (bench/README.md, "Lace
# comparison") and pass its fib-lace binary.
#
# Usage: bench/lace_compare.sh FIB_LACE [ROUNDS] [WEFT_BENCH]
#   FIB_LACE    Lace's benchmarks/fib-lace (fib-lace -w THREADS 35 prints "Time: s")
#   ROUNDS      interleaved rounds (default 7)
#   WEFT_BENCH  weft-bench (default build/default/bench/weft-bench)
# Prints every run as "impl threads seconds", then per impl and thread count the
# median, min, max and number of runs, and the ratios of the medians to Lace's.
# POSIX sh + awk.
set -eu
lace=$1
rounds=${2:-7}
bench=${3:-build/default/bench/weft-bench}
[ -x "$lace" ] || { echo "lace_compare: $lace is not an executable" >&2; exit 2; }
[ -x "$bench" ] || { echo "lace_compare: $bench is not an executable" >&2; exit 2; }

runs=$(mktemp)
trap 'rm -f "$runs"' EXIT INT TERM
i=0
while [ "$i" -lt "$rounds" ]; do
    i=$((i + 1))
    for t in 1 2; do
        "$lace" -w "$t" 35 | awk -v t="$t" '/^Time:/ { print "lace", t, $2 }' | tee -a "$runs"
        # One rep of each weft fib(35) row (after the driver's warm-up rep): its
        # table line gives impl, threads, median s (= that rep).
        "$bench" --filter '^fib/n=35/weft(-inline)?$' --threads "$t" --reps 1 2>/dev/null |
            awk '$1 ~ /^weft/ && $2 ~ /^[0-9]+$/ { print $1, $2, $3 }' | tee -a "$runs"
    done
done
echo
sort -k1,1 -k2,2n -k3,3g "$runs" | awk '
    {
        key = $1 " " $2
        if (!(key in n)) { n[key] = 0; order[++k] = key }
        n[key]++
        v[key "#" n[key]] = $3
    }
    END {
        printf "%-12s %7s %9s %9s %9s %5s\n", "impl", "threads", "median s", "min s", "max s", "runs"
        for (i = 1; i <= k; i++) {
            key = order[i]; c = n[key]
            if (c % 2) med = v[key "#" (c + 1) / 2]
            else med = (v[key "#" c / 2] + v[key "#" (c / 2 + 1)]) / 2
            m[key] = med
            split(key, kt, " ")
            printf "%-12s %7s %9.4f %9.4f %9.4f %5d\n", kt[1], kt[2], med, v[key "#" 1], v[key "#" c], c
        }
        for (i = 1; i <= k; i++) {
            split(order[i], kt, " ")
            base = "lace " kt[2]
            if (kt[1] != "lace" && (base in m))
                printf "%s / lace, %s thread(s): %.2fx (medians)\n", kt[1], kt[2], m[order[i]] / m[base]
        }
    }'
