#!/usr/bin/env bash
# Install everything the tests need, then run lint, type checks, JS tests and pytest.
# Extra arguments go to pytest (e.g. -k emulator, -x).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

apt_install chromium iproute2 util-linux

# `npm ci`, not `npm install` (which _common.sh's build_frontend runs for the quickstart): it
# installs exactly what package-lock.json lists, into an emptied node_modules/, and fails if
# the lockfile and package.json disagree, where `npm install` would resolve again and rewrite
# the lockfile. The lockfile lists every platform's optional packages (esbuild, biome, rolldown,
# lightningcss, typescript), so it installs on any machine and never changes.
command -v npm >/dev/null || { echo "Node.js 20+ and npm are needed to build the widget." >&2; exit 1; }
step "Installing JS dependencies exactly as package-lock.json locks them (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
step "Building the widget (esbuild -> rt_widget/static/)"
npm run --silent build
python_env test

step "Building the sdist and the wheel (dist/), and a wheelhouse of their dependencies"
rm -rf dist .cache/wheelhouse/rt_widget-*.whl  # a stale wheel of ours would hide new dependencies
"$PY" -m build --sdist --wheel --outdir dist . >/dev/null
# nbclient and ipykernel: the packaging test runs a shipped notebook in the fresh environment.
"$PY" -m pip wheel --quiet --wheel-dir .cache/wheelhouse dist/*.whl nbclient ipykernel

step "The documentation site, in strict mode (mkdocs: the guide and the API reference)"
"$VENV/bin/mkdocs" build --strict --quiet --site-dir .cache/site

step "Lint and types: ruff, mypy, biome, tsc"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
npx biome ci .
npm run --silent typecheck

step "JS unit tests (vitest)"
npx vitest run

step "pytest"
# Browser tests must only talk to loopback: run pytest in a private network namespace that
# has nothing but `lo`. Where that is not allowed (no root), run it on the host network.
if unshare -n true 2>/dev/null; then
  exec unshare -n bash -c 'ip link set lo up && exec "$0" -m pytest "$@"' "$PY" "$@"
else
  echo "(unshare -n not permitted here: running pytest on the host network)"
  exec "$PY" -m pytest "$@"
fi
