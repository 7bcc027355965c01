"""The built sdist and wheel carry the JS bundle; the wheel installs and imports without Node.

scripts/test.sh builds dist/ and a wheelhouse of the dependencies (.cache/wheelhouse) before
pytest runs, so this test installs offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
WHEELHOUSE = ROOT / ".cache" / "wheelhouse"
BUNDLE = ["rt_widget/static/widget.js", "rt_widget/static/widget.css"]


def built(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if not found:
        pytest.fail(f"No {pattern} in dist/: run scripts/test.sh, which builds it first.")
    return found[-1]


def test_wheel_contains_the_bundle_and_enables_the_server_extension():
    names = zipfile.ZipFile(built("rt_widget-*.whl")).namelist()
    for path in BUNDLE:
        assert path in names
    enable = "etc/jupyter/jupyter_server_config.d/rt_widget.json"
    assert any(name.endswith(f".data/data/{enable}") for name in names)


def test_sdist_contains_the_bundle_and_the_sources():
    with tarfile.open(built("rt_widget-*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for path in [*BUNDLE, "js/widget.ts", "package.json", "package-lock.json"]:
        assert path in names


def test_wheel_installs_and_imports_in_a_fresh_venv_without_node(tmp_path):
    target = tmp_path / "venv"
    venv.create(target, with_pip=True, symlinks=True)
    bindir = target / "bin"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = str(bindir)  # nothing else: no node, no npm
    assert shutil.which("node", path=env["PATH"]) is None

    subprocess.run(
        [
            bindir / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            WHEELHOUSE,
            built("rt_widget-*.whl"),
        ],
        env=env,
        check=True,
        cwd=tmp_path,
    )
    probe = (
        "import pathlib, rt_widget\n"
        "static = pathlib.Path(rt_widget.__file__).parent / 'static'\n"
        "print(static)\n"
        "print((static / 'widget.js').stat().st_size)\n"
        "rt_widget.Realtime(provider='emulator')\n"
    )
    result = subprocess.run([bindir / "python", "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    static_dir, size = result.stdout.split()
    assert Path(static_dir).is_relative_to(target)
    assert int(size) > 1000
