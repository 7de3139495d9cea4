#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 20) on stable Rust, without
# sanitizers (ASan needs nightly flags). Exits non-zero, loudly, on any crash.
# Usage: fuzz/run.sh [seconds]
set -euo pipefail
secs="${1:-20}"
cd "$(dirname "$0")/.."
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo-fuzz not installed (cargo install cargo-fuzz)" >&2
    exit 2
fi
mkdir -p fuzz/corpus
status=0
for target in request_parser scan_value inline long_double; do
    mkdir -p "fuzz/corpus/$target"
    echo "=== fuzz $target for ${secs}s ==="
    if ! cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" \
        -- -dict=fuzz/resp.dict \
        -max_total_time="$secs" -print_final_stats=1; then
        echo "!!! FUZZ TARGET $target FAILED (see the crash artifact under fuzz/artifacts/$target) !!!" >&2
        status=1
    fi
done
exit "$status"
