"""A newcomer's first commands work as the README writes them: `./scripts/leadpool` runs the CLI
from a shell that has no uv on its PATH, `serve --help` says how to pick the address and port, the
showcase's lead is routed (not refused), its docs link answers, and the scripts say which system
packages they install and stop with what to do when they cannot."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadpool.api.app import create_app
from leadpool.cli.main import app
from leadpool.clock import ManualClock
from leadpool.seed import seed_example
from leadpool.settings import EXAMPLES
from leadpool.storage.db import Database
from leadpool.storage.migrate import upgrade
from tests.prod.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner()


def _commands() -> set[str]:
    import typer

    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_readme_commands_use_the_wrapper_and_name_real_commands() -> None:
    assert "uv run leadpool" not in README  # uv is not on a fresh shell's PATH
    used = re.findall(r"\./scripts/leadpool ([a-z][a-z-]*)", README)
    assert len(used) > 20
    assert set(used) - _commands() == set()


def test_the_wrapper_runs_the_cli_without_uv_on_path(tmp_path: Path) -> None:
    home_bin = Path.home() / ".local" / "bin"
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if p and Path(p).resolve() != home_bin.resolve()
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"PATH": path}
    done = subprocess.run(
        [str(ROOT / "scripts" / "leadpool"), "--help"],
        cwd=tmp_path,  # from anywhere: relative paths stay the caller's
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: leadpool" in done.stdout and "serve" in done.stdout


def test_serve_help_says_how_to_pick_address_and_port() -> None:
    out = runner.invoke(app, ["ops", "serve", "--help"], env={"COLUMNS": "200"}).output
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ --")}
    assert "address to listen on" in lines["--host"] and "127.0.0.1" in lines["--host"]
    assert "TCP port" in lines["--port"] and "8000" in lines["--port"]
    assert "default" in lines["--workers"] and "default" in lines["--log-format"]


def test_serve_listens_on_the_port_it_is_given(tmp_path: Path) -> None:
    """`./scripts/serve --port N`, as the README says, on a database of the test's own."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env |= {
        "LEADPOOL_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "LEADPOOL_SCHEDULER_IN_SERVER": "false",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(ROOT / "scripts" / "serve"), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # uv and the server it starts, stopped together below
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)  # polling a process that is starting, not timing the product
        assert f"http://127.0.0.1:{port}/api/v1/docs" in log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


@pytest.fixture
def example(tmp_path: Path) -> tuple[Database, dict[str, str]]:
    db = Database(f"sqlite:///{tmp_path / 'leadpool.db'}", clock=ManualClock())
    upgrade(db.engine)
    tokens = {label.split()[0]: token for label, token in seed_example(db, EXAMPLES).items()}
    return db, tokens


def test_the_showcase_lead_is_routed_as_the_readme_shows(example: tuple[Database, dict[str, str]]) -> None:
    db, tokens = example
    body = re.search(r"localhost:8000/api/v1/leads \\\n  -d '(\{[^']*\})'", README)
    shown = re.search(r'# \{"where":"lead","outcome":"created",.*"status":"(\w+)","pool":"([^"]+)"', README)
    assert body is not None and shown is not None
    client = TestClient(create_app(db))
    answer = client.post(
        "/api/v1/leads", json=json.loads(body.group(1)), headers={"Authorization": f"Bearer {tokens['ops']}"}
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["status"], answer.json()["pool"]) == (shown.group(1), shown.group(2))

    claim = re.search(r"localhost:8000/api/v1/pools/(\w+)/claims -d '\{\}'", README)
    assert claim is not None
    taken = client.post(
        f"/api/v1/pools/{claim.group(1)}/claims",
        json={},
        headers={"Authorization": f"Bearer {tokens['rep']}"},
    )
    assert taken.status_code == 201, taken.text

    docs = re.search(r"http://127\.0\.0\.1:8000(/api/v1/docs)", README)
    assert docs is not None
    page = client.get(docs.group(1))
    assert page.status_code == 200 and "swagger-ui" in page.text
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset


def test_the_readme_dry_run_routes_into_a_pool(
    example: tuple[Database, dict[str, str]], tmp_path: Path
) -> None:
    db, _ = example
    lead = re.search(r"\./scripts/leadpool leads route '(\{[^']*\})'", README)
    assert lead is not None
    out = runner.invoke(app, ["leads", "route", lead.group(1), "--db", str(db.engine.url)]).output
    assert "→ pool Hot" in out, out


# --- the scripts' system packages ------------------------------------------------------------------


def _stub(folder: Path, name: str, body: str) -> None:
    (folder / name).write_text(f"#!/bin/sh\n{body}\n")
    (folder / name).chmod(0o755)


def _apt_install(path: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = f"source {ROOT / 'scripts' / '_packages.sh'}; apt_install 'the browser tests' chromium"
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-c", script],
        env={"PATH": path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    """A PATH with nothing but `id` and `env`: no apt-get, no sudo, unless a test adds them."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("id", "env"):
        real = shutil.which(tool)
        assert real is not None
        (folder / tool).symlink_to(real)
    return folder


def test_a_missing_package_is_named_before_it_is_installed(stubs: Path, tmp_path: Path) -> None:
    log = tmp_path / "apt.log"
    _stub(stubs, "apt-get", f'echo "$@" >> {log}')
    _stub(stubs, "sudo", f'echo sudo >> {log}; exec "$@"')
    done = _apt_install(str(stubs), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the browser tests needs chromium: installing it with apt-get" in done.stderr
    calls = log.read_text().split("\n")
    assert "install -y -qq chromium" in calls
    assert ("sudo" in calls) == (os.getuid() != 0)  # root needs no sudo; anyone else goes through it


def test_without_apt_get_the_script_stops_with_what_to_install(stubs: Path, tmp_path: Path) -> None:
    done = _apt_install(str(stubs), tmp_path)
    assert done.returncode == 1
    assert "needs chromium" in done.stderr and "apt-get install chromium" in done.stderr


def test_a_failed_install_stops_with_what_to_install(stubs: Path, tmp_path: Path) -> None:
    _stub(stubs, "apt-get", "exit 100")
    _stub(stubs, "sudo", 'exec "$@"')
    done = _apt_install(str(stubs), tmp_path)
    assert done.returncode == 1
    assert "apt-get could not install chromium" in done.stderr and "then run this again" in done.stderr
