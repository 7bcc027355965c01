"""The example notebooks that ship with rt-widget, and copying them into a folder of the user's."""

from __future__ import annotations

import shutil
from pathlib import Path

# In a wheel, the repository's notebooks/ is package data (pyproject.toml: force-include).
PACKAGED = Path(__file__).resolve().parent / "notebooks"
# In a source checkout (an editable install), the repository's own folder.
CHECKOUT = Path(__file__).resolve().parents[1] / "notebooks"


class NotebooksError(Exception):
    """The example notebooks cannot be copied; the message says why and what to do."""


def examples_folder() -> Path:
    """The folder this installation's example notebooks come from.

    Returns
    -------
    Path
        The notebooks inside the installed package, or a source checkout's ``notebooks/``.

    Raises
    ------
    NotebooksError
        If this installation carries no example notebooks.
    """
    if (PACKAGED / "quickstart.ipynb").is_file():
        return PACKAGED
    if (CHECKOUT / "quickstart.ipynb").is_file() and (CHECKOUT.parent / "pyproject.toml").is_file():
        return CHECKOUT
    raise NotebooksError(
        f"This installation of rt-widget has no example notebooks (no {PACKAGED}). "
        "Reinstall it from a wheel: pip install --force-reinstall rt-widget"
    )


def example_files(folder: Path) -> list[Path]:
    """The example files under ``folder``: its notebooks, then the data they read.

    Parameters
    ----------
    folder
        A folder laid out like the repository's ``notebooks/``.

    Returns
    -------
    list of Path
        Paths relative to ``folder``: ``*.ipynb`` at the top, then every file under ``data/``.
        Hidden files and folders (``.ipynb_checkpoints``) are left out.
    """
    notebooks = sorted(path.relative_to(folder) for path in folder.glob("*.ipynb"))
    data = sorted(path.relative_to(folder) for path in (folder / "data").rglob("*") if path.is_file())
    return [path for path in notebooks + data if not any(part.startswith(".") for part in path.parts)]


def copy_examples(target: Path, *, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the example notebooks and their data into ``target``.

    Nothing is copied if a file is in the way and ``force`` is false, so a refused copy
    leaves ``target`` as it was.

    Parameters
    ----------
    target
        The folder to copy into; created if missing.
    force
        Overwrite files that are already there.

    Returns
    -------
    tuple of (list of Path, list of Path)
        The files copied, and those among them that replaced an existing file, both relative
        to ``target``.

    Raises
    ------
    NotebooksError
        If ``target`` is a file, or already holds some of the files and ``force`` is false.
    OSError
        If a file cannot be read or written (permissions, a full disk).
    """
    source = examples_folder()
    files = example_files(source)
    if target.exists() and not target.is_dir():
        raise NotebooksError(f"{target} is a file, not a folder: name another folder to copy the notebooks into.")
    existing = [path for path in files if (target / path).exists()]
    if existing and not force:
        shown = ", ".join(str(path) for path in existing[:3])
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise NotebooksError(
            f"{target} already has {shown}{more}, so nothing was copied. "
            "Pass --force to overwrite them, or name another folder."
        )
    for path in files:
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / path, target / path)
    return files, existing
