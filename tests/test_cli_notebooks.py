"""`rt-widget notebooks [DIR]` copies the example notebooks and their data, and never overwrites by surprise."""

from __future__ import annotations

from pathlib import Path

import pytest

from rt_widget import _notebooks
from rt_widget._cli import main

REPO_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def shipped() -> set[str]:
    """What the command must copy, read from the repository: its notebooks and everything under data/."""
    notebooks = {p.name for p in REPO_NOTEBOOKS.glob("*.ipynb")}
    data = {p.relative_to(REPO_NOTEBOOKS).as_posix() for p in (REPO_NOTEBOOKS / "data").rglob("*") if p.is_file()}
    return notebooks | data


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_copies_every_notebook_and_its_data_and_says_what(tmp_path, capsys):
    target = tmp_path / "mine"
    assert main(["notebooks", str(target)]) == 0
    expected = shipped()
    assert {"quickstart.ipynb", "data/emulator_session.jsonl"} <= expected
    assert files_under(target) == expected
    for name in expected:
        assert (target / name).read_bytes() == (REPO_NOTEBOOKS / name).read_bytes()
    out = capsys.readouterr().out
    assert f"Copied {len(expected)} files into {target}" in out
    assert all(f"  {name}\n" in out for name in expected)
    assert "quickstart.ipynb" in out.splitlines()[-1]


def test_the_default_folder_is_made_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["notebooks"]) == 0
    assert files_under(tmp_path / "rt-widget-notebooks") == shipped()


def test_refuses_to_overwrite_and_copies_nothing(tmp_path, capsys):
    (tmp_path / "quickstart.ipynb").write_text("my own work", encoding="utf-8")
    assert main(["notebooks", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "quickstart.ipynb" in err
    assert "nothing was copied" in err
    assert "--force" in err
    assert "Traceback" not in err
    assert files_under(tmp_path) == {"quickstart.ipynb"}  # not even the files that were free
    assert (tmp_path / "quickstart.ipynb").read_text(encoding="utf-8") == "my own work"


def test_force_overwrites_and_says_so(tmp_path, capsys):
    (tmp_path / "quickstart.ipynb").write_text("stale", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("kept", encoding="utf-8")
    assert main(["notebooks", str(tmp_path), "--force"]) == 0
    assert "overwriting 1" in capsys.readouterr().out
    assert (tmp_path / "quickstart.ipynb").read_bytes() == (REPO_NOTEBOOKS / "quickstart.ipynb").read_bytes()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "kept"  # only the examples' own files change


def test_a_file_in_place_of_the_folder_is_an_error_that_says_what_to_do(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("", encoding="utf-8")
    assert main(["notebooks", str(target)]) == 1
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err
    assert "Traceback" not in err


def test_an_unwritable_folder_is_an_error_not_a_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main(["notebooks", str(blocker / "below")]) == 1  # a folder cannot be made under a file
    err = capsys.readouterr().err
    assert err.startswith(f"rt-widget: cannot copy the notebooks into {blocker / 'below'}")
    assert "Traceback" not in err


def test_the_wheels_copy_is_preferred_and_hidden_files_stay_behind(tmp_path, monkeypatch):
    packaged = tmp_path / "site-packages" / "rt_widget" / "notebooks"
    (packaged / ".ipynb_checkpoints").mkdir(parents=True)
    (packaged / "data" / "clips").mkdir(parents=True)
    (packaged / "quickstart.ipynb").write_text("packaged", encoding="utf-8")
    (packaged / ".ipynb_checkpoints" / "quickstart-checkpoint.ipynb").write_text("", encoding="utf-8")
    (packaged / "data" / "clips" / "a.wav").write_bytes(b"RIFF")
    (packaged / "notes.md").write_text("not an example", encoding="utf-8")
    monkeypatch.setattr(_notebooks, "PACKAGED", packaged)
    target = tmp_path / "out"
    assert main(["notebooks", str(target)]) == 0
    assert files_under(target) == {"quickstart.ipynb", "data/clips/a.wav"}
    assert (target / "quickstart.ipynb").read_text(encoding="utf-8") == "packaged"


def test_an_installation_without_notebooks_says_how_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_notebooks, "PACKAGED", tmp_path / "nowhere")
    monkeypatch.setattr(_notebooks, "CHECKOUT", tmp_path / "nor-here")
    assert main(["notebooks", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "has no example notebooks" in err
    assert "pip install --force-reinstall rt-widget" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["notebooks", "a", "b"], ["notebooks", "--overwrite"]])
def test_bad_arguments_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "rt-widget: error: unrecognized arguments" in capsys.readouterr().err
