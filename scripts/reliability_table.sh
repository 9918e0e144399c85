#!/usr/bin/env bash
# Prints the reliability table (markdown): fstop run on every generated bad input of
# tests/reliability_support (the cases tests/reliability.rs checks), a batch of bad files,
# --fail-fast, SIGINT/SIGTERM during a write, and the set-up script against a bad sha256.
# For each: the command, what fstop printed on stderr (verbatim), the exit code, what was left
# on disk and the peak resident memory. Inputs are generated in a temporary folder (or in
# WORK_DIR, kept for inspection); nothing in the repository changes.
#
# Also the reading-side cases of tests/reliability_io_support (metadata bombs, side files that
# are devices, FIFOs or too large, unsupported JPEG kinds, HDR float TIFFs).
#
# Usage: bash scripts/reliability_table.sh [--release] [WORK_DIR] [--io-only]
# The model cases need `bash scripts/setup.sh` (ONNX Runtime); the tmpfs cases need user
# namespaces (`unshare -rm`) and are left out where those are not available.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=debug
flags=()
if [[ ${1:-} == --release ]]; then
    profile=release
    flags=(--release)
    shift
fi
cargo build -q ${flags[@]+"${flags[@]}"} --bin fstop --example reliability_table
exec "target/$profile/examples/reliability_table" "target/$profile/fstop" "$@"
