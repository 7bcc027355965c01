"""The analysis notebook runs top to bottom on the recording shipped with it."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_analysis_notebook_runs_on_the_shipped_recording():
    nb = nbformat.read(NOTEBOOKS / "analysis.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "EventLog(" in text
    assert "hello there" in text  # the transcript
    assert "cancelled" in text  # the interrupted turn
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plots
