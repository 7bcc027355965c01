#!/usr/bin/env bash
# Set up rt-widget and open the quickstart notebook in JupyterLab, on the embedded emulator
# (no API key, no internet). Extra arguments go to `jupyter lab` (e.g. --port 8899).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

build_frontend
python_env lab
step "Starting JupyterLab with notebooks/quickstart.ipynb (Ctrl+C stops it)"
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-root)  # JupyterLab refuses root without it
exec "$VENV/bin/jupyter" lab notebooks/quickstart.ipynb "${extra[@]}" "$@"
