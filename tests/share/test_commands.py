"""`triwarn keys ...` and `triwarn network ...` through the real command line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import nats
import pytest
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.share.credentials import load_credentials

runner = CliRunner()


def test_keys_new_writes_signing_and_encryption_pairs_and_names_them(tmp_path):
    result = runner.invoke(app, ["keys", "new", "--nation", "kr", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for private in ("kr.key", "kr.xkey"):
        assert stat.S_IMODE((tmp_path / private).stat().st_mode) == 0o600
    for public in ("kr.pub", "kr.xpub"):
        assert len((tmp_path / public).read_text().strip()) == 44
    # The operator is told where each of the four files went (the .xkey turns sealing on).
    for name in ("kr.key", "kr.pub", "kr.xkey", "kr.xpub"):
        assert str(tmp_path / name) in result.output, name
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
    assert names == ["credentials-jp.json", "credentials-kr.json", "credentials-us.json", "jp.conf", "kr.conf",
                     "streams.json", "us.conf"]
    for nation in ("us", "jp", "kr"):
        assert stat.S_IMODE((tmp_path / "cfg" / f"credentials-{nation}.json").stat().st_mode) == 0o600
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


@pytest.mark.slow
def test_network_up_restarts_a_killed_server_and_delivery_resumes(tmp_path):
    command = [sys.executable, "-m", "triwarn.cli", "network", "up", "--workdir", str(tmp_path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("running"):
                break
        pids = dict(re.findall(r"(\w+) pid (\d+)", next(line for line in lines if line.startswith("servers:"))))
        assert set(pids) == {"us", "jp", "kr"}
        os.kill(int(pids["jp"]), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while not any(line.startswith("jp: restarted") for line in stderr) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any("jp: server exited with code -9" in line for line in stderr), stderr
        assert any(line.startswith("jp: restarted") for line in stderr), stderr
        assert proc.poll() is None  # the others were not stopped
        # Delivery into JP resumes: US and KR publish, JP's inbox gets both, with the per-nation files.
        creds = {n: load_credentials(tmp_path / "config" / f"credentials-{n}.json", n) for n in ("us", "jp", "kr")}
        urls = {n: re.search(r"(nats://\S+)", next(line for line in lines if line.startswith(f"{n}:"))).group(1)
                for n in ("us", "jp", "kr")}
        got = asyncio.run(_deliver_to_jp(creds, urls))
        assert got == {b"us after restart", b"kr after restart"}
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


async def _deliver_to_jp(creds, urls) -> set[bytes]:
    conns = {n: await nats.connect(**creds[n].login("admin", [urls[n]])) for n in creds}
    try:
        for n in ("us", "kr"):
            await conns[n].jetstream().publish(f"tw.{n}.jp.heartbeat", f"{n} after restart".encode(),
                                               stream=f"OUT_{n.upper()}")
        js = conns["jp"].jetstream()
        got: set[bytes] = set()
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            got = set()
            for stream in ("IN_US2JP", "IN_KR2JP"):  # JP's inbox for each sender
                info = await js.stream_info(stream)
                got |= {(await js.get_msg(stream, seq=s)).data
                        for s in range(info.state.first_seq, info.state.last_seq + 1)} if info.state.messages else set()
            await asyncio.sleep(0.1)
        return got
    finally:
        for nc in conns.values():
            await nc.close()
