#!/bin/sh
# charts.sh: PNG charts from a weft-bench --csv file, with awk and gnuplot only (no
# python on a fresh Debian). `make bench` runs it on bench/results/latest.csv.
#
#   sh bench/charts.sh RESULTS.csv OUTDIR [REPORT.md]
#
# Writes OUTDIR/speedup.png (throughput over the serial implementation, per benchmark
# and implementation at each thread count; log scale), OUTDIR/chan.png (channel
# throughput in messages/s per scenario, weft beside its peer; log scale) and, for each
# size sweep (loop_sweep, reduce_sweep), OUTDIR/<sweep>.png (time per call against the
# number of elements, one line per implementation and thread count; log-log; the
# sweeps are left out of speedup.png, whose bars would hide them), each from a
# tab-separated data file next to it (.dat). Only checked rows are drawn. With REPORT.md,
# appends links to the charts to it. Exit status: 0, or 1 on a usage/tool error.
set -eu

csv=${1:?usage: charts.sh RESULTS.csv OUTDIR [REPORT.md]}
out=${2:?usage: charts.sh RESULTS.csv OUTDIR [REPORT.md]}
md=${3:-}
command -v gnuplot >/dev/null 2>&1 || { echo "charts.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -r "$csv" ] || { echo "charts.sh: cannot read $csv" >&2; exit 1; }
mkdir -p "$out"
split_csv=$(cat "$(dirname "$0")/csv.awk") # split_csv(line): the CSV reader

# table MODE [SWEEP]: a tab-separated matrix, one line per category, one column per
# series, "?" where a series has no value. MODE speedup: category = benchmark/param,
# series = "impl tN", value = speedup (groups that have a serial row; no sweeps). MODE
# chan: category = scenario/param of the chan_* benchmarks, series = impl, value =
# throughput. MODE sweep: the rows of benchmark SWEEP (params "n=2^K"), category = n,
# series = "impl tN", value = the row's value (time per call).
table() {
    awk -v mode="$1" -v sweep="${2:-}" "$split_csv"'
    NR == 1 { n = split_csv($0); for (i = 1; i <= n; i++) col[F[i]] = i; next }
    {
        split_csv($0)
        if (F[col["checked"]] != "true") next
        bench = F[col["benchmark"]]; param = F[col["param"]]; impl = F[col["impl"]]
        if (mode == "speedup") {
            v = F[col["speedup"]]
            if (v == "" || impl == "serial" || bench ~ /_sweep$/) next
            cat = bench "/" param; ser = impl " t" F[col["threads"]]
            if (!(impl in impl_rank)) impl_rank[impl] = ++nimpl
            rank[ser] = impl_rank[impl] * 100000 + F[col["threads"]]
        } else if (mode == "sweep") {
            v = F[col["value"]]
            if (v == "" || bench != sweep || param !~ /^n=2\^[0-9]+$/) next
            cat = sprintf("%.0f", 2 ^ substr(param, 5)); ser = impl " t" F[col["threads"]]
            if (!(impl in impl_rank)) impl_rank[impl] = ++nimpl
            rank[ser] = impl_rank[impl] * 100000 + F[col["threads"]]
        } else {
            v = F[col["throughput"]]
            if (v == "" || bench !~ /^chan_/) next
            cat = substr(bench, 6) "/" param; ser = impl
            if (!(impl in impl_rank)) impl_rank[impl] = ++nimpl
            rank[ser] = impl_rank[impl]
        }
        if (!(cat in seen_cat)) { seen_cat[cat] = 1; cats[++ncat] = cat }
        if (!(ser in seen_ser)) { seen_ser[ser] = 1; sers[++nser] = ser }
        val[cat, ser] = v
    }
    END {
        if (ncat == 0) exit 3
        # series grouped by implementation (first appearance), then thread count
        for (i = 2; i <= nser; i++)
            for (j = i; j > 1 && rank[sers[j - 1]] > rank[sers[j]]; j--) {
                t = sers[j]; sers[j] = sers[j - 1]; sers[j - 1] = t
            }
        line = "category"
        for (j = 1; j <= nser; j++) line = line "\t" sers[j]
        print line
        for (i = 1; i <= ncat; i++) {
            line = cats[i]
            for (j = 1; j <= nser; j++) line = line "\t" (((cats[i], sers[j]) in val) ? val[cats[i], sers[j]] : "?")
            print line
        }
    }' "$csv"
}

# plot DAT PNG TITLE YLABEL [EXTRA]: a clustered histogram of the matrix, log-scale y;
# EXTRA: more gnuplot commands before the plot.
plot() {
    ncols=$(head -n 1 "$1" | awk -F '\t' '{ print NF }')
    nrows=$(($(wc -l < "$1") - 1))
    width=$((400 + nrows * (ncols - 1) * 14))
    [ "$width" -lt 900 ] && width=900
    [ "$width" -gt 4000 ] && width=4000
    term=png
    gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 && term=pngcairo
    gnuplot <<GP
set terminal $term size $width,720 noenhanced
set output '$2'
set title '$3'
set ylabel '$4'
set datafile separator "\t"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set grid ytics
set key outside right top
set xtics rotate by -40 scale 0 font ",9"
set bmargin 10
${5:-}
plot for [i=2:$ncols] '$1' using i:xtic(1) title columnheader(i)
GP
}

# plot_sweep DAT PNG TITLE YLABEL: one line per series ("impl tN") of the matrix against
# its numeric first column (the number of elements), both axes log scale; one colour
# per implementation, one dash and point type per thread count, so weft's lines and
# each peer's read as pairs; weft's lines drawn thicker.
plot_sweep() {
    lines=$(head -n 1 "$1" | awk -F '\t' -v dat="$1" '{
        color["weft"] = "#0060ad"; color["serial"] = "#000000"
        color["openmp"] = "#dd7700"; color["tbb"] = "#009e73"
        for (i = 2; i <= NF; i++) {
            impl = $i; sub(/ t[0-9]+$/, "", impl); t = substr($i, length(impl) + 3) + 0
            c = (impl in color) ? color[impl] : "#888888"
            if (!(t in style)) style[t] = ++nstyles
            printf("%s\"%s\" using 1:%d with linespoints lc rgb \"%s\" lw %d dt %d pt %d ps 1.2 title columnheader(%d)",
                   (i > 2 ? ", " : ""), dat, i, c, (impl == "weft" ? 2 : 1), style[t],
                   4 + 2 * style[t], i)
        }
    }')
    term=png
    gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 && term=pngcairo
    gnuplot <<GP
set terminal $term size 1000,720 noenhanced
set output '$2'
set title '$3'
set xlabel 'elements n (log scale)'
set ylabel '$4'
set datafile separator "\t"
set datafile missing "?"
set logscale x 2
set logscale y
set format x "2^%L"
set grid xtics ytics mytics
set key outside right top
plot $lines
GP
}

made=""
if table speedup > "$out/speedup.dat"; then
    plot "$out/speedup.dat" "$out/speedup.png" \
        "weft-bench: speedup over serial C (throughput ratio; 1 = serial; log scale)" "speedup" \
        "set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb 'black'"
    made="$made speedup.png"
else
    rm -f "$out/speedup.dat"; echo "charts.sh: no speedup rows in $csv" >&2
fi
if table chan > "$out/chan.dat"; then
    plot "$out/chan.dat" "$out/chan.png" \
        "weft-bench: channel throughput per scenario (log scale)" "messages/s"
    made="$made chan.png"
else
    rm -f "$out/chan.dat"; echo "charts.sh: no channel rows in $csv" >&2
fi
for sweep in loop_sweep reduce_sweep; do
    if table sweep "$sweep" > "$out/$sweep.dat"; then
        case $sweep in
        loop_sweep) what="triad a = b + s*c" ;;
        *) what="sum of n doubles" ;;
        esac
        plot_sweep "$out/$sweep.dat" "$out/$sweep.png" \
            "weft-bench $sweep: $what, one call at a time from the main thread (log-log)" \
            "time per call (us, median)"
        made="$made $sweep.png"
    else
        rm -f "$out/$sweep.dat"; echo "charts.sh: no $sweep rows in $csv" >&2
    fi
done
if [ -n "$md" ] && [ -n "$made" ]; then
    printf '\n## Charts\n\n' >> "$md"
    for png in $made; do printf '![%s](%s)\n\n' "${png%.png}" "$png" >> "$md"; done
fi
for png in $made; do echo "charts.sh: wrote $out/$png"; done
