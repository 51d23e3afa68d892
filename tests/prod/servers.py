"""Real leadpool processes for production tests: servers and schedulers started as an operator would
(`leadpool ops serve`, `leadpool ops scheduler`), killed with SIGKILL or stopped with SIGTERM, and clients
that retry the way the README tells them to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

LEADPOOL = [sys.executable, "-m", "leadpool.cli.main"]
START_SECONDS = 60  # a process that is not ready by then has failed to start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """One leadpool process; its output goes to a file the test reads afterwards."""

    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)
    command: list[str] = field(default_factory=lambda: list(LEADPOOL))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> Proc:
        self.starts += 1
        out = self.log.open("ab")
        self.popen = subprocess.Popen(
            [*self.command, *self.args], env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        if wait and self.port is not None:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.args} exited with {self.popen.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/api/v1/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling a process that is starting, not timing the product
        raise AssertionError(f"{self.args} not ready after {START_SECONDS} s:\n{self.output()}")

    def wait_for(self, text: str, count: int = 1) -> None:
        """Until the process has logged `text` `count` times (a process without a port)."""
        deadline = time.monotonic() + START_SECONDS
        while self.output().count(text) < count:
            assert self.popen is not None
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.args} never logged {text!r}:\n{self.output()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine loses power or the OOM killer strikes."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, as a process manager stops a service: in-flight work finishes first. (uvicorn
        exits by the signal, -15, after its graceful shutdown, so a stopped server logs that.)"""
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else 0
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def server(tmp: Path, name: str, db_url: str, *extra: str, **env: str) -> Proc:
    port = free_port()
    return Proc(
        ["ops", "serve", "--no-seed", "--port", str(port), *extra],
        {"LEADPOOL_DATABASE_URL": db_url, **env},
        tmp / f"{name}.log",
        port,
    )


def scheduler(tmp: Path, name: str, db_url: str, **env: str) -> Proc:
    return Proc(["ops", "scheduler"], {"LEADPOOL_DATABASE_URL": db_url, **env}, tmp / f"{name}.log")


RETRYABLE = {502, 503, 504}


def send(
    client: httpx.Client,
    bases: list[str],
    method: str,
    path: str,
    *,
    retry_for: float,
    first: int = 0,
    tally: Counter[str] | None = None,
    **kwargs: Any,
) -> httpx.Response | None:
    """Send, and on a lost connection or a 503 send the same request again (to the next server),
    until `retry_for` seconds have passed. None: no server answered in that time. `tally` counts
    the failed attempts by what went wrong."""
    deadline = time.monotonic() + retry_for
    attempt = first
    while True:
        base = bases[attempt % len(bases)]
        attempt += 1
        try:
            response = client.request(method, base + path, **kwargs)
            if response.status_code not in RETRYABLE:
                return response
            failure = f"retried after {response.status_code}"
        except httpx.TransportError as exc:
            failure = f"retried after {type(exc).__name__}"
        if tally is not None:
            tally[failure] += 1
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)  # back off a moment before the next server
