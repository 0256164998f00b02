"""Generated server configurations: nats-server accepts them (plain, clustered, TLS), the release policy
is in them, and a hub config that lets a partner import another's restricted data refuses to start."""

from __future__ import annotations

import json
import subprocess

import pytest

from triwarn.share.netconfig import public_key, stream_plan
from triwarn.share.servers import generate, nats_server_binary, write_generated


def nats_server_accepts(conf_path) -> subprocess.CompletedProcess:
    return subprocess.run([nats_server_binary(), "-t", "-c", str(conf_path)], capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize("variant", ["single", "clustered", "tls", "clustered+tls"])
@pytest.mark.slow
def test_nats_server_accepts_every_generated_config(spec, tmp_path, tls_files, variant):
    clustered = frozenset({"us", "kr"}) if "clustered" in variant else frozenset()
    gen = generate(spec, tmp_path / "js", clustered=clustered, tls=tls_files if "tls" in variant else None)
    paths = [p for p in write_generated(gen, tmp_path / "out") if p.suffix == ".conf"]
    assert len(paths) == (7 if clustered else 3)
    for path in paths:
        result = nats_server_accepts(path)
        assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"


def test_release_policy_is_in_the_broker_config(spec, tmp_path):
    gen = generate(spec, tmp_path / "js")
    us_node_key = public_key(gen.secrets.seeds["us_node"])  # the node logs in by nkey
    us_node = next(u for u in gen.configs["us"]["accounts"]["US_X"]["users"] if u.get("nkey") == us_node_key)
    allowed = us_node["permissions"]["publish"]["allow"]
    assert "tw.us.jp.track" in allowed and "tw.us.kr.track" not in allowed and "tw.us.kr.launch" in allowed
    us2kr = next(p.config for p in stream_plan(spec) if p.config["name"] == "US2KR")
    assert "tw.us.kr.track" not in json.dumps(us2kr) and "tw.us.kr.launch" in json.dumps(us2kr)
    # Each per-recipient outbox is exported to its recipient's account only.
    exports = gen.configs["us"]["accounts"]["KR_LINK"]["exports"]
    assert {tuple(e["accounts"]) for e in exports if "KR2JP" in json.dumps(e)} == {("JP_LINK",)}
    # The hub holds only the leafnodes' public nkeys, never their seeds.
    assert gen.secrets.leaf_seeds["kr"] not in json.dumps(gen.configs["us"])
    assert gen.secrets.leaf_public("kr") in json.dumps(gen.configs["us"])


@pytest.mark.slow
def test_hub_refuses_a_config_that_lets_kr_import_data_released_to_the_us_only(spec, tmp_path):
    gen = generate(spec, tmp_path / "js")
    hub = gen.configs["us"]
    # US2JP's delivery subject is exported to JP_LINK alone; make KR_LINK import it as a leaky config would.
    hub["accounts"]["KR_LINK"].setdefault("imports", []).append(
        {"stream": {"account": "US_X", "subject": "dlv.us2jp.>"}})
    path = tmp_path / "leaky-hub.conf"
    path.write_text(json.dumps(hub))
    result = nats_server_accepts(path)
    assert result.returncode != 0
    assert "dlv.us2jp" in result.stdout + result.stderr
