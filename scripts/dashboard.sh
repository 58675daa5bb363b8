#!/usr/bin/env bash
# Set up (first run only) and start the dashboard on http://localhost:8501. Works offline with no data folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run streamlit_app.py "$@"
