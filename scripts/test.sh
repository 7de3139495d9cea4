#!/usr/bin/env bash
# Runs every gate Tandem has, the same way locally and in CI (.ci/run calls this):
#   1. installs the system tools the tests need when they are missing (Debian),
#   2. cargo fmt --check, 3. cargo clippy -D warnings, 4. the tests (cargo-nextest
#   when present, else cargo test), 5. a short fuzz run when fuzz/run.sh exists.
# A missing tool is installed or the script fails loudly: no test is skipped quietly.
# Exit status is non-zero on any failure; the test runner's closing summary is
# printed last.
#
# Environment:
#   SKIP_INSTALL=1     do not try to install anything (fail if something is missing)
#   TEST_ARGS="..."    extra arguments for the test runner (e.g. a filter)
#   FUZZ_SECONDS=N     seconds per fuzz target (passed to fuzz/run.sh; default 20)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

T0=$(date +%s)
# Each step is stamped with the seconds since the start: the suite should stay
# under ~25 minutes on CI's 2 cores, and this shows where the time goes.
say() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- system tools
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_UPDATED=0
apt_install() {
    [ "${SKIP_INSTALL:-0}" = 1 ] && die "missing packages ($*) and SKIP_INSTALL=1"
    command -v apt-get >/dev/null || die "missing packages ($*) and no apt-get to install them"
    if [ -n "$SUDO" ]; then
        command -v sudo >/dev/null || die "missing packages ($*): not root and no sudo"
    fi
    if [ "$APT_UPDATED" = 0 ]; then
        say "apt-get update"
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
        || die "apt-get install $* failed"
}

# Each required entry: "command package". All must be present after install.
REQUIRED=(
    "protoc protobuf-compiler"   # needed by build scripts: before the first cargo build
    "redis-server redis-server"  # the reference the end-to-end tests compare against
    "redis-cli redis-tools"
    "redis-benchmark redis-tools"
    "etcd etcd-server"           # topology store for the failover tests
    "ip iproute2"                # network namespaces / tc netem in fault tests
    "tc iproute2"
    "strace strace"              # counts a snapshot's incremental fsyncs
)
OPTIONAL=(
    "nutcracker nutcracker"      # only the proxy benchmarks use it
)

missing=()
for entry in "${REQUIRED[@]}"; do
    set -- $entry
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
done
# etcd-client's build compiles etcd's .proto files, which import protobuf's
# well-known types (google/protobuf/descriptor.proto, struct.proto): protoc
# alone (protobuf-compiler without its recommends) does not ship them.
PROTO_INCLUDE=/usr/include/google/protobuf/descriptor.proto
[ -f "$PROTO_INCLUDE" ] || missing+=(libprotobuf-dev)
if [ ${#missing[@]} -gt 0 ]; then
    # shellcheck disable=SC2207
    missing=($(printf '%s\n' "${missing[@]}" | sort -u))
    apt_install "${missing[@]}"
fi
for entry in "${REQUIRED[@]}"; do
    set -- $entry
    command -v "$1" >/dev/null 2>&1 || die "$1 (package $2) is still missing after install"
done
[ -f "$PROTO_INCLUDE" ] || die "$PROTO_INCLUDE (package libprotobuf-dev) is still missing after install"
for entry in "${OPTIONAL[@]}"; do
    set -- $entry
    if ! command -v "$1" >/dev/null 2>&1; then
        if [ "${SKIP_INSTALL:-0}" != 1 ]; then
            # In a subshell: a failure here must not end the run (die exits).
            (apt_install "$2") || echo "note: optional $2 could not be installed (benchmarks only)"
        else
            echo "note: optional $1 missing (benchmarks only)"
        fi
    fi
done

command -v cargo >/dev/null || die "cargo not found (install Rust via rustup)"

# The end-to-end tests start many servers; make sure stale ones do not matter.
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT

# ---------------------------------------------------------------- gates
say "cargo fmt --all -- --check"
cargo fmt --all -- --check || die "formatting differs: run 'cargo fmt --all'"

say "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || die "clippy found problems"

# ---------------------------------------------------------------- tests
TEST_LOG="$LOG_DIR/test.log"
status=0
if cargo nextest --version >/dev/null 2>&1; then
    say "cargo nextest run --workspace"
    # shellcheck disable=SC2086
    cargo nextest run --workspace --no-fail-fast --failure-output final ${TEST_ARGS:-} 2>&1 \
        | tee "$TEST_LOG" || status=$?
    # nextest does not run doc tests.
    if [ "$status" = 0 ]; then
        say "cargo test --workspace --doc"
        cargo test --workspace --doc 2>&1 | tee -a "$LOG_DIR/doc.log" || status=$?
    fi
    SUMMARY=$(grep -E '^ *Summary \[' "$TEST_LOG" | tail -n 1 || true)
else
    say "cargo test --workspace (cargo-nextest not found)"
    # shellcheck disable=SC2086
    cargo test --workspace --no-fail-fast ${TEST_ARGS:-} 2>&1 | tee "$TEST_LOG" || status=$?
    # cargo test prints one result line per test binary: add them up.
    SUMMARY=$(grep -E '^test result:' "$TEST_LOG" | awk '
        { for (i = 1; i <= NF; i++) { if ($(i) ~ /^(passed|failed|ignored);?$/) { k = $(i); sub(/;/, "", k); n[k] += $(i-1) } } bins++ }
        END { printf "test result: %d test binaries: %d passed; %d failed; %d ignored\n", bins, n["passed"], n["failed"], n["ignored"] }')
fi
[ "$status" = 0 ] || { echo "$SUMMARY"; die "tests failed (exit $status)"; }

# ---------------------------------------------------------------- fuzz
if [ -f fuzz/run.sh ]; then
    if ! cargo fuzz --help >/dev/null 2>&1; then
        [ "${SKIP_INSTALL:-0}" = 1 ] && die "cargo-fuzz missing and SKIP_INSTALL=1"
        say "cargo install cargo-fuzz --locked"
        cargo install cargo-fuzz --locked || die "could not install cargo-fuzz"
    fi
    say "short fuzz run (fuzz/run.sh, --sanitizer none)"
    FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash fuzz/run.sh || die "fuzzing found a problem"
else
    say "no fuzz/run.sh yet: no fuzz targets to run"
fi

say "all gates passed"
echo "$SUMMARY"
