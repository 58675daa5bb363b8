#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite. Real-data tests read ../shared/data
# (or $ALEXNET_DATA_ROOT) and are skipped, saying so, when it is absent; browser tests need
# /usr/bin/chromium (Debian: apt-get install chromium chromium-driver) and are skipped without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${ALEXNET_DATA_ROOT:-}" ] && [ -d ../shared/data ]; then
  export ALEXNET_DATA_ROOT="$(cd ../shared/data && pwd)"
fi
exec .venv/bin/python -m pytest "$@"
