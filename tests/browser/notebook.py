"""Driving a notebook in JupyterLab from Playwright."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.lab import KernelProbe, LabServer


def open_and_run(page: Page, lab: LabServer, notebook: str) -> KernelProbe:
    """Open ``notebook``, wait for its kernel, run all cells; return a probe into the kernel."""
    page.goto(lab.notebook_url(notebook))
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp?.shell?.currentWidget;
            return w?.sessionContext?.session?.kernel?.connectionStatus === "connected"
                && w.sessionContext.session.kernel.status === "idle";
        }"""
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    return lab.kernel_for(notebook)
