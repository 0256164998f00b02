"""`triwarn keys ...` and `triwarn network ...` through the real command line."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from triwarn.cli import app

runner = CliRunner()


def test_keys_new_writes_a_private_key_and_a_public_key(tmp_path):
    result = runner.invoke(app, ["keys", "new", "--nation", "kr", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "kr.key").stat().st_mode) == 0o600
    assert len((tmp_path / "kr.pub").read_text().strip()) == 44
    again = runner.invoke(app, ["keys", "new", "--nation", "kr", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    listed = runner.invoke(app, ["keys", "trust", str(tmp_path)])
    assert listed.exit_code == 0 and listed.output.startswith("kr  ")


def test_bad_nation_code_is_exit_2(tmp_path):
    result = runner.invoke(app, ["keys", "new", "--nation", "korea", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "--nation" in result.output


def test_network_config_writes_three_servers_and_the_stream_plan(tmp_path):
    result = runner.invoke(app, ["network", "config", "--out", str(tmp_path / "cfg")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "cfg").iterdir())
    assert names == ["credentials.json", "jp.conf", "kr.conf", "streams.json", "us.conf"]
    assert stat.S_IMODE((tmp_path / "cfg" / "credentials.json").stat().st_mode) == 0o600
    jp = json.loads((tmp_path / "cfg" / "jp.conf").read_text())
    assert jp["jetstream"]["domain"] == "jp" and jp["leafnodes"]["remotes"][0]["account"] == "JP_X"


def test_network_config_names_the_bad_field_of_a_broken_network_yaml(tmp_path):
    bad = tmp_path / "network.yaml"
    bad.write_text("hub: us\nnations: [us, jp, kr]\nrelease:\n  kr:\n    jp: [track, gossip]\n")
    result = runner.invoke(app, ["network", "config", "--network", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "release.kr.jp" in result.output and "gossip" in result.output


@pytest.mark.slow
def test_network_up_prints_urls_and_stops_cleanly_on_ctrl_c(tmp_path):
    command = [sys.executable, "-m", "triwarn.cli", "network", "up", "--workdir", str(tmp_path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("running"):
                break
        proc.send_signal(subprocess.signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert any(line.startswith("kr: nats://127.0.0.1:") for line in lines)
    assert "stopping" in out
    logs = (tmp_path / "logs" / "us.log").read_text()
    assert "Server Exiting" in logs
