#!/usr/bin/env bash
# Set up a fresh machine, import the bundled sample cases and open the workbench on them
# with the default model. Extra arguments go to `rubricate review`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cpu-env.sh
scripts/setup.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cargo build --release --locked
bin=target/release/rubricate
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/release/rubricate"
"$bin" import assets/sample/cases.jsonl --source sample
exec "$bin" review --filter all "$@"
