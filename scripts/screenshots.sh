#!/usr/bin/env bash
# Retake the README's screenshots, docs/widget-light.png and docs/widget-dark.png, in a real
# JupyterLab and Chromium with the widget as built now. The test suite takes the same ones
# into build/screenshots/ (ignored), so that a test run never changes tracked files.
# Extra arguments go to pytest (e.g. -x).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

apt_install chromium iproute2 util-linux
build_frontend
python_env test

step "Taking the screenshots into docs/ (tests/browser/test_ui.py)"
export RT_WIDGET_UPDATE_SCREENSHOTS=1  # read by the test: docs/ instead of build/screenshots/
test="tests/browser/test_ui.py::test_screenshots_for_the_readme"
# Like scripts/test.sh: a private network namespace with only loopback, where allowed.
if unshare -n true 2>/dev/null; then
  unshare -n bash -c 'ip link set lo up && exec "$0" -m pytest -q "$@"' "$PY" "$test" "$@"
else
  "$PY" -m pytest -q "$test" "$@"
fi
git status --short -- docs/widget-light.png docs/widget-dark.png  # what changed, for the commit
