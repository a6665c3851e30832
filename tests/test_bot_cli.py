"""``dateline run``, ``dateline sync`` and ``dateline preview`` from the command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from archive.store import Store
from dateline.cli import main
from tests.bot_fixtures import sample_events


@pytest.mark.parametrize("command", ["run", "sync"])
def test_missing_token_is_a_clear_error(command, monkeypatch, capsys):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dateline: error: DISCORD_TOKEN is not set")
    assert err.count("\n") == 1


def test_preview_rejects_a_bad_port(capsys):
    assert main(["preview", "--port", "70000"]) == 2
    assert "--port must be between 0 and 65535" in capsys.readouterr().err


def _get(
    url: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode("utf-8")


async def test_preview_serves_its_page(tmp_path: Path):
    async with Store.open(tmp_path / "data" / "dateline.sqlite3") as store:
        await store.write_events([(None, event) for event in sample_events()])
    config = tmp_path / "dateline.toml"
    config.write_text('[storage]\ndir = "data"\n[archive]\npath = "no-archive"\n')
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("DISCORD_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dateline.cli", "--config", str(config), "preview", "--port", "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert line.startswith("Dateline preview: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        origin, capability = url.split("/#", 1)

        status, html = await asyncio.to_thread(_get, origin + "/")
        assert status == 200
        assert "<title>SimCord Preview</title>" in html

        headers = {"X-Simcord-Capability": capability, "Content-Type": "application/json"}
        status, payload = await asyncio.to_thread(_get, origin + "/api/pages", headers, b"{}")
        assert status == 200
        assert "general" in json.dumps(json.loads(payload))
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), timeout=60)
    assert code == 130  # stopped by Ctrl-C, cleanly
