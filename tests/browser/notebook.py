"""Driving a notebook in JupyterLab from Playwright."""

from __future__ import annotations

import nbformat
from playwright.sync_api import Page

from tests.browser.lab import KernelProbe, LabServer


def write_notebook(lab: LabServer, name: str, *cells: str) -> str:
    """Write a notebook of code cells into the server's root; return its path for the URL."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = lab.root / "notebooks" / name
    nbformat.write(nb, path)
    return f"notebooks/{name}"


def open_and_run(page: Page, lab: LabServer, notebook: str, url: str | None = None) -> KernelProbe:
    """Open ``notebook`` (in JupyterLab, or at ``url``: Notebook 7's page), wait for its kernel,
    run all cells; return a probe into the kernel."""
    page.goto(url or lab.notebook_url(notebook))
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp?.shell?.currentWidget;
            return w?.sessionContext?.session?.kernel?.connectionStatus === "connected"
                && w.sessionContext.session.kernel.status === "idle";
        }"""
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    return lab.kernel_for(notebook)
