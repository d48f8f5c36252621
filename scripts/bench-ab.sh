#!/usr/bin/env bash
# A/B of two builds of examples/bench_import_export, alternating runs in one script so both
# see the same machine load. Prints each run's rates, then the median of each side and the
# ratio after/before.
#
#   scripts/bench-ab.sh BEFORE_BIN AFTER_BIN [CASES=100000] [ROUNDS=3]
#
# Build the "before" binary from another commit in a scratch worktree, e.g.
#   git worktree add /tmp/ab-before <commit>
#   (cd /tmp/ab-before && CARGO_TARGET_DIR=$PWD/../ab-target cargo build --release --example bench_import_export)
set -euo pipefail
before=$1
after=$2
cases=${3:-100000}
rounds=${4:-3}
declare -A runs
rate() { # the cases/s figure on the line starting with $1
  awk -v k="$1" 'index($0, k) == 1 { for (i = 1; i <= NF; i++) if ($i == "=") print $(i + 1) }'
}
for r in $(seq "$rounds"); do
  for side in before after; do
    bin=$before
    [ "$side" = after ] && bin=$after
    out=$("$bin" "$cases")
    imp=$(rate import <<<"$out")
    exp=$(rate "export dpo" <<<"$out")
    echo "round $r $side: import $imp cases/s, export dpo $exp cases/s"
    runs[$side.import]+="$imp "
    runs[$side.export]+="$exp "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for what in import export; do
  b=$(median <<<"${runs[before.$what]}")
  a=$(median <<<"${runs[after.$what]}")
  awk -v w="$what" -v b="$b" -v a="$a" 'BEGIN { printf "%-7s median before %8.0f  after %8.0f cases/s  ratio after/before %.2fx\n", w, b, a, a / b }'
done
