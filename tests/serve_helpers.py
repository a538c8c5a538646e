"""A real ``main.py serve`` in a subprocess on 127.0.0.1 and a free port, for tests and bench/serve.py."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    token: str
    lines: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # the server's environment: its run store, its script

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, **{"timeout": 30, **kwargs})

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        with self.client() as c:
            return c.get(path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        with self.client() as c:
            return c.post(path, json=body, **kwargs)

    def wait_for(self, run_id: str, condition: Callable[[dict[str, Any]], bool], seconds: float = 120) -> dict[str, Any]:
        """The run's record once ``condition(record)`` holds."""
        deadline = time.monotonic() + seconds
        record: dict[str, Any] = {}
        while time.monotonic() < deadline:
            record = self.get(f"/runs/{run_id}").json()
            if condition(record):
                return record
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting on run {run_id}: {json.dumps(record.get('run'))[:400]}")

    def wait_status(self, run_id: str, *statuses: str, seconds: float = 120) -> dict[str, Any]:
        return self.wait_for(run_id, lambda r: r["run"]["status"] in statuses, seconds)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``main.py ARGS`` on the server's run store, as a person at the same project would run it."""
        return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=300)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(runs: Path, *args: str, env: dict[str, str] | None = None, workers: int = 1,
                 llm: str = "scripted") -> Server:
    """``main.py serve --port 0`` with its run store under ``runs``; returns once it listens."""
    full_env = {**os.environ, "ROLECALL_RUNS": str(runs), **(env or {})}
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), "serve", *args, "--port", "0",
                                "--workers", str(workers), "--llm", llm],
                               cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert process.stdout is not None
    while len(lines) < 3:
        line = process.stdout.readline()
        if not line:
            raise AssertionError("serve exited: " + "".join(lines))
        lines.append(line.rstrip("\n"))
    url = lines[0].split(" on ")[1].split(" ")[0]
    token = lines[2].split("token=")[1] if "token=" in lines[2] else full_env["ROLECALL_SERVE_TOKEN"]
    if token == "$ROLECALL_SERVE_TOKEN":
        token = full_env["ROLECALL_SERVE_TOKEN"]
    server = Server(process, url, token, lines, full_env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the socket listens before uvicorn's lifespan has run
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("serve never answered /health")
