"""`triwarn network config --keys DIR` (issue 16): a network set up by the docs seals. It writes every
nation's signing and encryption pairs, with which each node's key folder turns sealing on
(sealing.node_box_key), keeps keys that exist, and completes a folder made before encryption."""

from __future__ import annotations

import stat

from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.share import sealing, signing
from triwarn.share.policy import load_network

runner = CliRunner()


def test_network_config_writes_every_nations_signing_and_encryption_keys(tmp_path):
    keys = tmp_path / "keys"
    result = runner.invoke(app, ["network", "config", "--out", str(tmp_path / "cfg"), "--keys", str(keys)])
    assert result.exit_code == 0, result.output
    spec = load_network()
    for nation in spec.nations:
        for private in (f"{nation}.key", f"{nation}.xkey"):
            assert stat.S_IMODE((keys / private).stat().st_mode) == 0o600
            assert str(keys / private) in result.output
    trust = signing.TrustStore.load_dir(keys)
    assert sorted(trust.keys) == sorted(trust.box_keys) == sorted(spec.nations)
    for nation in spec.nations:  # each node given this folder seals to every partner it releases to
        box = sealing.node_box_key(keys, nation, trust, spec)
        assert box is not None and bytes(box.public_key) == bytes(trust.box(nation))

    before = {p.name: p.read_bytes() for p in keys.iterdir()}
    again = runner.invoke(app, ["network", "config", "--out", str(tmp_path / "cfg"), "--keys", str(keys)])
    assert again.exit_code == 0 and "there already (kept)" in again.output
    assert {p.name: p.read_bytes() for p in keys.iterdir()} == before


def test_a_key_folder_from_before_encryption_gets_its_encryption_pairs(tmp_path):
    for nation in ("us", "jp", "kr"):
        signing.write_key_pair(nation, tmp_path)
        (tmp_path / f"{nation}.xkey").unlink()
        (tmp_path / f"{nation}.xpub").unlink()
    signing_keys = {n: (tmp_path / f"{n}.key").read_bytes() for n in ("us", "jp", "kr")}
    written = signing.write_network_keys(("us", "jp", "kr"), tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.{x}" for n in ("us", "jp", "kr") for x in ("xkey", "xpub"))
    assert {n: (tmp_path / f"{n}.key").read_bytes() for n in ("us", "jp", "kr")} == signing_keys
