# Shared steps of scripts/quickstart.sh and scripts/test.sh. Sourced, not run.
# Everything lands inside the project: node_modules/, .venv/, dist/, .cache/.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Need root to run: $*  (install it by hand, then re-run)" >&2; return 1
  fi
}

# apt_install PKG... : install Debian packages that are missing.
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "Installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build_frontend() {
  command -v npm >/dev/null || { echo "Node.js 20+ and npm are needed to build the widget." >&2; exit 1; }
  step "Installing JS dependencies (locked versions from package-lock.json)"
  # Not `npm ci`: the registry mirror here carries only Linux builds of the per-platform
  # optional packages (esbuild, biome), so the lockfile cannot list the others and `npm ci`
  # refuses it. `npm install` still installs exactly the locked versions.
  npm install --no-audit --no-fund --loglevel=error
  step "Building the widget (esbuild -> rt_widget/static/)"
  npm run --silent build
}

# python_env EXTRAS : a virtual environment with rt-widget installed in editable mode.
python_env() {
  local extras="$1"
  if [ ! -x "$PY" ]; then
    step "Creating the virtual environment .venv"
    python3 -m venv "$VENV"
  fi
  step "Installing rt-widget[$extras] into .venv"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -e ".[$extras]"
}
