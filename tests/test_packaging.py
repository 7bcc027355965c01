"""The built sdist and wheel carry the JS bundle and the example notebooks; the wheel installs
and imports without Node, and its ``rt-widget notebooks`` writes the notebooks.

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
NOTEBOOKS = ROOT / "notebooks"


def example_files() -> set[str]:
    """The repository's notebooks and the data they read, relative to notebooks/."""
    found = [*NOTEBOOKS.glob("*.ipynb"), *(p for p in (NOTEBOOKS / "data").rglob("*") if p.is_file())]
    return {p.relative_to(NOTEBOOKS).as_posix() for p in found}


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


def test_wheel_contains_every_example_notebook_and_its_data_and_nothing_else():
    prefix = "rt_widget/notebooks/"
    names = zipfile.ZipFile(built("rt_widget-*.whl")).namelist()
    packaged = {name.removeprefix(prefix) for name in names if name.startswith(prefix)}
    assert {"quickstart.ipynb", "data/emulator_session.jsonl"} <= example_files()
    assert packaged == example_files()  # a new notebook needs a line in pyproject.toml's force-include


def test_sdist_contains_the_bundle_and_the_sources():
    with tarfile.open(built("rt_widget-*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for path in [*BUNDLE, "js/widget.ts", "package.json", "package-lock.json"]:
        assert path in names


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment with the built wheel installed offline: its bin/ and an env with no node."""
    tmp_path = tmp_path_factory.mktemp("wheel")
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
    return bindir, env


def test_wheel_installs_and_imports_in_a_fresh_venv_without_node(wheel_venv, tmp_path):
    bindir, env = wheel_venv
    target = bindir.parent
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


def test_the_installed_command_writes_the_example_notebooks(wheel_venv, tmp_path):
    bindir, env = wheel_venv
    result = subprocess.run(
        [bindir / "rt-widget", "notebooks", "examples"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    written = {
        p.relative_to(tmp_path / "examples").as_posix() for p in (tmp_path / "examples").rglob("*") if p.is_file()
    }
    assert written == example_files()
    for name in written:
        assert (tmp_path / "examples" / name).read_bytes() == (NOTEBOOKS / name).read_bytes()
    assert f"Copied {len(written)} files into examples" in result.stdout

    again = subprocess.run(
        [bindir / "rt-widget", "notebooks", "examples"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert again.returncode == 1
    assert "nothing was copied" in again.stderr
    assert "Traceback" not in again.stderr


def test_the_copied_quickstart_runs_headless_in_the_fresh_venv(wheel_venv, tmp_path):
    """What a new user does first: install, copy the notebooks, run the quickstart (here with nbclient)."""
    bindir, env = wheel_venv
    install = [bindir / "python", "-m", "pip", "install", "--quiet", "--no-index", "--find-links", WHEELHOUSE]
    subprocess.run([*install, "nbclient", "ipykernel"], env=env, check=True, cwd=tmp_path)
    subprocess.run([bindir / "rt-widget", "notebooks", "examples"], env=env, cwd=tmp_path, check=True)
    run = (
        "import nbformat\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read('quickstart.ipynb', as_version=4)\n"
        "NotebookClient(nb, timeout=120, kernel_name='python3').execute()\n"
        "outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]\n"
        "assert not [o for o in outputs if o.output_type == 'error'], outputs\n"
        "print(sum('application/vnd.jupyter.widget-view+json' in o.get('data', {}) for o in outputs))\n"
    )
    result = subprocess.run(
        [bindir / "python", "-c", run], env=env, cwd=tmp_path / "examples", capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == "1"  # the widget's view was displayed
