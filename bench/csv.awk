# csv.awk: split_csv(line), the weft-bench CSV reader that bench/charts.sh and
# bench/readme_figures.sh put in front of their awk programs (awk has no CSV mode).
# Splits one RFC 4180 line into F[1..n] and returns n: quoted fields may hold commas
# and doubled quotes (""); a line break inside a field is not supported (weft-bench
# writes none).
function split_csv(line,    n, i, c, f, q) {
    n = 0; f = ""; q = 0
    for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (q) {
            if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { f = f "\""; i++ } else q = 0 }
            else f = f c
        } else if (c == "\"") q = 1
        else if (c == ",") { F[++n] = f; f = "" }
        else f = f c
    }
    F[++n] = f
    return n
}
