#!/usr/bin/env bash
# Runs every test of the workspace: Rust unit, conformance (in-memory, SQLite, PostgreSQL,
# object_store), HTTP and CLI tests, promtool's check of /metrics, the alert channels against
# a real Alertmanager and SMTP receiver, the benches as smoke runs, and the Python bindings'
# pytest suite.
#
# Services: PostgreSQL is expected at 127.0.0.1:5432 (override with
# LEGALOPS_TEST_POSTGRES_URL). Tools the tests need and the machine lacks (promtool) are
# installed from the package registries when running as root. A test whose service is
# missing prints why it skipped; with CI=true a skip is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# PostgreSQL: use the local server when it answers.
if [ -z "${LEGALOPS_TEST_POSTGRES_URL:-}" ]; then
  if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export LEGALOPS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
  else
    echo "note: no PostgreSQL on 127.0.0.1:5432; PostgreSQL tests will report a skip"
  fi
fi

# promtool (Debian's prometheus package) checks the /metrics exposition.
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing promtool (Debian package prometheus)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "note: promtool not found and cannot install it; the promtool test will report a skip"
  fi
fi

# Alertmanager and an SMTP receiver for the alert channels' tests (installed if missing,
# started on free ports, stopped when this script exits).
source scripts/test-services.sh
start_test_services
trap stop_test_services EXIT

step "cargo test (every crate, every feature)"
cargo test --workspace --all-features

step "benches as smoke tests (tiny iteration counts; real runs: cargo bench)"
BENCH_ROUNDS=1 BENCH_REQUESTS=200 cargo test --workspace --all-features --bench '*'

step "python bindings (maturin + pytest)"
bash scripts/test-python.sh

echo
echo "all tests passed"
