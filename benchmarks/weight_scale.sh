#!/bin/sh
# The shipped model with job weights in other units. The workloads of
# eval.sh's setting (30 jobs on 16 ports; Alibaba and WfCommons shapes;
# offered loads 0.5, 0.7 and 0.9; SEEDS seeds each, from 3001, used nowhere
# else) are made three times with Pareto weights (min x Pareto(2), capped at
# 5 x min) whose min is 0.01, 1 and 100: the same jobs, every weight scaled
# by the same factor. An order that reads weights only through their ratios
# gives the same schedule at every scale, its average weighted JCT scaled by
# the factor. The learned policy also reads a job's weight as such (feature
# 14, log1p-scaled and normalised as its training mix's weights 1 to 5 were), so it
# need not. Prints `weft eval`'s table, one group per scale, then, per policy
# and scale, the largest relative difference over the workloads between its
# average weighted JCT at that scale over the factor and at scale 1.
#
#   sh benchmarks/weight_scale.sh [BUILD_DIR]   (MODEL=file, SEEDS=N, OUT=DIR,
#   POLICIES="p1 p2 ...")
set -eu
BUILD=${1:-build}
OUT=${OUT:-$BUILD/weight_scale}
SEEDS=${SEEDS:-3}
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
POLICIES=${POLICIES:-learned jsebf-cp jsebf sincronia}
[ -x "$WEFT" ] || { echo "weight_scale.sh: $WEFT not built (make build)" >&2; exit 1; }
# shellcheck source=benchmarks/eval.inc
. "$(dirname "$0")/eval.inc"
need_seeds weight_scale.sh
set -- # the workloads: positional parameters keep a blank in OUT in a path
for scale in 0.01 1 100; do
    max=$(awk -v k="$scale" 'BEGIN { print 5 * k }')
    i=0 # the workload's number, the same at every scale (its "-s" in the name)
    for shape in alibaba wfcommons; do
        for load in 0.5 0.7 0.9; do
            s=1
            while [ $s -le "$SEEDS" ]; do
                i=$((i + 1))
                # i's shape and load depend on SEEDS: a directory of each, so that a
                # file kept from a run with other SEEDS is not taken for this one
                d="$OUT/data/$shape-l$load"
                f="$d/w$scale-s$i.weft"
                mkdir -p "$d"
                # gen's summary kept quiet, but not its error
                [ -s "$f" ] || err=$("$WEFT" gen --shape $shape --load $load \
                    --seed $((3000 + i)) --jobs 30 --ports 16 --weights pareto \
                    --weight-min "$scale" --weight-max "$max" -o "$f" 2>&1) ||
                    { echo "$err" >&2; exit 1; }
                set -- "$@" "$f"
                s=$((s + 1))
            done
        done
    done
done
eval_policies "$OUT/eval.csv" "$@"
echo
echo "largest |avg wJCT at scale k / k over avg wJCT at scale 1 - 1| over the workloads"
# eval.csv: policy,workload,group,avg_wjct_s,...; the group is w<scale>
awk -F, -v scales="0.01 100" 'NR > 1 {
    k = substr($3, 2) + 0
    n = $2; sub(/.*-s/, "", n); sub(/\.weft$/, "", n)
    v[$1, k, n] = $4; ns[n] = 1
    if (!($1 in seen)) { seen[$1] = 1; order[++np] = $1 } # the order of --policy
}
END {
    nk = split(scales, ks, " ")
    printf "%-12s", "policy"
    for (j = 1; j <= nk; j++) printf " %14s", "scale " ks[j]
    printf "\n"
    for (i = 1; i <= np; i++) {
        p = order[i]
        printf "%-12s", p
        for (j = 1; j <= nk; j++) {
            k = ks[j] + 0
            worst = 0
            for (n in ns) {
                d = v[p, k, n] / k / v[p, 1, n] - 1
                if (d < 0) d = -d
                if (d > worst) worst = d
            }
            printf " %14.3g", worst
        }
        printf "\n"
    }
}' "$OUT/eval.csv"
