"""Helpers for tests that drive a real JupyterLab: the server, and a probe into its kernels."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from jupyter_client import BlockingKernelClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# JupyterLab settings that keep the page quiet and offline (no news or update checks).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    runtime_dir: Path
    log: Path
    ca: Path | None = None
    """The server's self-signed certificate when it serves HTTPS (what clients should trust)."""

    def api(self, path: str) -> Any:
        verify = ssl.create_default_context(cafile=self.ca) if self.ca is not None else True
        response = httpx.get(f"{self.url}{path}", params={"token": self.token}, timeout=10, verify=verify)
        response.raise_for_status()
        return response.json()

    def notebook_url(self, name: str) -> str:
        # ?reset: a clean workspace, not the tabs earlier tests left open
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def kernel_for(self, notebook: str, timeout: float = 60) -> KernelProbe:
        """A probe into the kernel of the session that has ``notebook`` open."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for session in self.api("/api/sessions"):
                if session["path"].endswith(notebook) and session.get("kernel"):
                    conn = self.runtime_dir / f"kernel-{session['kernel']['id']}.json"
                    if conn.exists():
                        return KernelProbe(conn)
            time.sleep(0.2)
        msg = f"no kernel for {notebook} within {timeout} s"
        raise AssertionError(msg)


class KernelProbe:
    """Evaluates expressions in a running kernel through a second client.

    ``user_expressions`` run without output, so the notebook shows nothing of it.
    """

    def __init__(self, connection_file: Path) -> None:
        self.client = BlockingKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=30)

    def eval(self, expr: str, timeout: float = 30) -> Any:
        """The value of ``expr`` in the kernel, passed back as JSON."""
        msg_id = self.client.execute("", silent=True, user_expressions={"v": f"__import__('json').dumps({expr})"})
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout)
        result = reply["content"]["user_expressions"]["v"]
        if result["status"] != "ok":
            msg = f"{expr!r} failed in the kernel: {result.get('ename')}: {result.get('evalue')}"
            raise AssertionError(msg)
        # text/plain is the repr of the JSON string.
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))

    def execute(self, code: str, timeout: float = 30) -> None:
        """Run statements in the kernel; raise with the kernel's error if they fail."""
        msg_id = self.client.execute(code, silent=True)
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout)
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            msg = f"{code!r} failed in the kernel: {content.get('ename')}: {content.get('evalue')}"
            raise AssertionError(msg)

    def wait_until(self, expr: str, timeout: float = 30, interval: float = 0.25) -> Any:
        """Poll ``expr`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.eval(expr)
            if value:
                return value
            time.sleep(interval)
        msg = f"{expr!r} stayed falsy for {timeout} s (last value: {value!r})"
        raise AssertionError(msg)

    def close(self) -> None:
        self.client.stop_channels()


@contextlib.contextmanager
def jupyter_lab(
    workdir: Path,
    env_extra: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    tls_hosts: tuple[str, ...] = (),
) -> Iterator[LabServer]:
    """Run JupyterLab on loopback, serving a copy of ``notebooks/``, with isolated config.

    With ``tls_hosts`` it serves HTTPS, with a self-signed certificate for those host names
    (and 127.0.0.1), as a hub does.
    """
    root = workdir / "root"
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    dirs = {name: workdir / name for name in ("config", "data", "runtime", "ipython", "settings")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    for rel, value in {**LAB_SETTINGS, **(settings or {})}.items():
        target = dirs["settings"] / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
        JUPYTER_PLATFORM_DIRS="1",
        **(env_extra or {}),
    )
    port, token = free_port(), secrets.token_hex(16)
    log = workdir / "jupyter.log"
    tls: list[str] = []
    ca = None
    if tls_hosts:
        ca, key = self_signed(workdir, tls_hosts)
        tls = [f"--ServerApp.certfile={ca}", f"--ServerApp.keyfile={key}"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                "--LabApp.expose_app_in_browser=True",
                "--JupyterNotebookApp.expose_app_in_browser=True",  # Notebook 7's page, at /notebooks/
                f"--ServerApp.root_dir={root}",
                # It still listens on 127.0.0.1 only; this lets a test reach it under a host name
                # mapped to 127.0.0.1 (a stand-in for a hub), which Jupyter refuses by default.
                "--ServerApp.allow_remote_access=True",
                *tls,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    scheme = "https" if tls_hosts else "http"
    server = LabServer(f"{scheme}://127.0.0.1:{port}", token, root, dirs["runtime"], log, ca)
    try:
        _wait_for_server(server, proc)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_server(server: LabServer, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"JupyterLab exited early:\n{server.log.read_text()[-3000:]}"
            raise RuntimeError(msg)
        with contextlib.suppress(httpx.HTTPError):
            server.api("/api/status")
            return
        time.sleep(0.3)
    msg = f"JupyterLab did not start within {timeout} s:\n{server.log.read_text()[-3000:]}"
    raise RuntimeError(msg)


# A notebook cell: every log record in the kernel, at DEBUG, kept in LOGS for inspection.
KEEP_LOGS = (
    "import logging\nLOGS = []\nclass Keep(logging.Handler):\n    def emit(self, record):\n"
    "        LOGS.append(self.format(record))\n"
    "logging.getLogger().addHandler(Keep()); logging.getLogger().setLevel(logging.DEBUG)"
)


def save_with_widgets(page: Any, lab: LabServer, path: str) -> str:
    """Save the open notebook from the page; its text, checked to hold the widgets' state."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1500)
    saved = (lab.root / path).read_text()
    assert json.loads(saved)["metadata"]["widgets"]  # widget state was saved with the notebook
    return saved


@contextlib.contextmanager
def lab_with_key(workdir: Path, api_key: str) -> Iterator[LabServer]:
    """JupyterLab whose server (and so each kernel) has ``api_key`` as OPENAI_API_KEY, and that
    saves the widgets' state with a notebook: where a leaked key would show."""
    save_widget_state = {"@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True}}
    with jupyter_lab(workdir, env_extra={"OPENAI_API_KEY": api_key}, settings=save_widget_state) as server:
        yield server


def self_signed(folder: Path, hosts: tuple[str, ...]) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for ``hosts`` and 127.0.0.1, and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName(h) for h in hosts] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
