#!/bin/sh
# How much room a scheduler has over jsebf-cp: for each workload, its
# average weighted JCT over three lower-bound-like references, each an
# average over jobs of weight x a time per job:
#   cp     the job's critical-path bound (weft sim's "vs bound");
#   port   max(cp, the job's busiest port: its bytes through one port
#          over the port's rate) -- also a true lower bound;
#   alone  the job alone on the empty fabric, best of jsebf-cp, wcp,
#          sincronia and fifo: not a strict bound (an order could beat all
#          four), but what the job costs with no other job in the way;
# and, last, over the workload's LP bound (weft sim --lp-bound), which no
# schedule beats and which counts the contention between jobs too.
# The gap to "alone" is what job contention costs; only that part can any
# ordering win back. Default workloads: eval.sh's (run it first).
#
#   sh benchmarks/room.sh [BUILD_DIR] [WORKLOAD...]
set -eu
BUILD=${1:-build}
[ $# -gt 0 ] && shift
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
[ -x "$WEFT" ] || { echo "room.sh: $WEFT not built (make build)" >&2; exit 1; }
[ $# -gt 0 ] || set -- "$BUILD"/eval/data/*.weft
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
POL="jsebf-cp"
printf '%-34s %12s %8s %8s %8s %8s\n' workload "jsebf-cp(s)" "/cp" "/port" "/alone" "/lp"
for f in "$@"; do
    out=$("$WEFT" sim "$f" --policy $POL --lp-bound)
    rate=$(echo "$out" | sed -n 's/.* at \([0-9.e+]*\) bytes\/s$/\1/p')
    cpb=$(echo "$out" | sed -n 's/^bound: average weighted lower bound of JCT \([0-9.e+]*\) s$/\1/p')
    awjct=$(echo "$out" | awk -v p=$POL '$1 == p {print $8}')
    lpb=$(echo "$out" | sed -n "s/^LP bound: no schedule's average weighted JCT is below \([0-9.e+]*\) s .*/\1/p")
    # per job: weight and busiest port bytes (port bound), from the file
    awk '$1 == "job" {j = $2; w[j] = $4; order[++n] = j; next}
         NF == 3 && $1 ~ /^[0-9]+$/ {s[j " " $1] += $3; r[j " " $2] += $3;
                                     if (s[j " " $1] > m[j]) m[j] = s[j " " $1];
                                     if (r[j " " $2] > m[j]) m[j] = r[j " " $2]}
         END {for (i = 1; i <= n; i++) print order[i], w[order[i]], m[order[i]]}' "$f" \
        > "$TMP/jobs"
    "$WEFT" sim "$f" --policy $POL --out "$TMP/run" >/dev/null
    port=0 alone=0 n=0
    while read -r id w maxb; do
        # the job alone, arriving at 0
        awk -v id="$id" 'BEGIN {keep = 0}
             $1 == "job" {keep = ($2 == id); if (keep) {$3 = 0; print; next}}
             $1 == "end" {keep = 0; next}
             /^weft-workload|^ports/ {print; next}
             keep {print}
             END {print "end 1"}' "$f" > "$TMP/one.weft"
        best=$("$WEFT" sim "$TMP/one.weft" --policy $POL --policy wcp --policy sincronia \
            --policy fifo | awk 'NF == 10 && $8 ~ /^[0-9.]+$/ {if (b == "" || $8 < b) b = $8}
                                 END {print b}')
        lb=$(awk -F, -v id="$id" '$1 == id {print $6}' "$TMP/run/$POL-jobs.csv")
        port=$(awk -v a="$port" -v w="$w" -v lb="$lb" -v b="$maxb" -v r="$rate" \
            'BEGIN {t = b / r; if (lb > t) t = lb; printf "%.17g", a + w * t}')
        alone=$(awk -v a="$alone" -v b="$best" 'BEGIN {printf "%.17g", a + b}')
        n=$((n + 1))
    done < "$TMP/jobs"
    awk -v f="$(basename "$f" .weft)" -v a="$awjct" -v c="$cpb" -v p="$port" -v o="$alone" -v n="$n" \
        -v l="$lpb" \
        'BEGIN {printf "%-34s %12.1f %8.4f %8.4f %8.4f %8.4f\n", f, a, a / c, a / (p / n), a / (o / n), a / l}'
done
