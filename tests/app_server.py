"""Run the app as a real server in a child process (for the browser tests and the UI benchmark, which adds tests/ to its path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parents[1]
"""The repository root, where ``Home.py`` is."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """``streamlit run Home.py`` (or another ``script``) on 127.0.0.1 and a free port, with ``env`` added to the
    environment.

    Use as a context manager: entering starts the server and waits until it answers its health check
    (``started_s`` says how long that took); leaving stops it. ``log`` receives its output.
    """

    def __init__(self, env: Mapping[str, str], log: Path, timeout: float = 120.0, script: Path = ROOT / "Home.py") -> None:
        self.script = Path(script)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.log = log
        self.timeout = timeout
        self.started_s = 0.0
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "AppServer":
        command = [
            sys.executable, "-m", "streamlit", "run", str(self.script),
            "--server.address", "127.0.0.1", "--server.port", str(self.port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        ]
        started = time.perf_counter()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                command, cwd=self.script.parent, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = started + self.timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The app server exited with status {self.process.returncode}; see {self.log}.")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        self.started_s = time.perf_counter() - started
                        return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise TimeoutError(f"The app server did not answer within {self.timeout:.0f} s; see {self.log}.")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid
