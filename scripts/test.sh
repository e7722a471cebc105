#!/bin/sh
# Runs every test: the Criterion suites through ctest.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
ctest --test-dir "$BUILD" --output-on-failure -j 2 --timeout 600
