#!/usr/bin/env bash
# Placeholder: installs nothing yet (the inference work fills this in).
set -euo pipefail
