"""Exercises and replays seal end to end (issue 16): run_shared makes an encryption key per nation for the
run beside its signing key, so over real NATS the hub holds only `sealed` frames for the partners it
relays (as between CLI nodes with `triwarn keys new` keys), and the partners still read each other."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import pytest

from triwarn.exercise import replay as replay_mod
from triwarn.sensors.commands import run_simulate

HERE = Path(__file__).parent
SHORT_MRBM = HERE.parent / "node" / "short_mrbm.yaml"


async def _hub_kinds(net) -> dict[str, dict[str, int]]:
    """Per stream the hub holds in each partner's link account: how many frames of each `kind`."""
    out: dict[str, dict[str, int]] = {}
    for partner in net.spec.partners:
        nc = await nats.connect(**net.credentials(partner, "linkadmin"))
        try:
            js = nc.jetstream()
            for info in await js.streams_info():
                state = info.state
                kinds: dict[str, int] = {}
                for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
                    kind = json.loads((await js.get_msg(info.config.name, seq=seq)).data)["kind"]
                    kinds[kind] = kinds.get(kind, 0) + 1
                out[f"{partner}:{info.config.name}"] = kinds
        finally:
            await nc.close()
    return out


@pytest.mark.slow
def test_a_replay_over_nats_leaves_only_sealed_frames_at_the_hub(tmp_path, monkeypatch):
    seen: dict = {}
    real = replay_mod.LocalNetwork

    class Inspected:
        """LocalNetwork whose close first reads what the hub holds (the run is over, the streams kept)."""

        @staticmethod
        def start(spec, workdir, **kw):
            net = real.start(spec, workdir, **kw)
            close = net.close

            def inspect_then_close():
                try:
                    seen.update(asyncio.run(_hub_kinds(net)))
                finally:
                    close()

            net.close = inspect_then_close
            return net

    monkeypatch.setattr(replay_mod, "LocalNetwork", Inspected)
    run_simulate(SHORT_MRBM, tmp_path / "sim", seed=3)
    summary = replay_mod.replay(tmp_path / "sim" / "sensors.yaml", tmp_path / "sim" / "measurements.jsonl",
                                tmp_path / "out", share=True, step_s=2.0, baseline=False, progress=False)
    total = {k: sum(v.values()) for k, v in seen.items()}
    assert sum(total.values()) > 100, seen  # the hub relayed the run's traffic (tracks, heartbeats, links)
    assert all(set(kinds) == {"sealed"} for kinds in seen.values() if kinds), seen
    assert total["kr:KR2JP"] > 0 and total["jp:JP2KR"] > 0, seen  # Japan and Korea only through the hub
    # Sealed, and still read: Korea's radar tracks reached Japan, nothing was refused.
    transport = summary["transport"]
    assert transport["delivered"] > 0
    assert summary["nations"] == ["kr", "jp"]  # short_mrbm: a Korean and a Japanese radar
    for n in summary["nations"]:
        counters = transport[f"{n}_counters"]
        assert counters["recv_accepted"] > 0, (n, counters)
        refused = {k: v for k, v in counters.items() if k.startswith("recv_") and v
                   and k not in ("recv_accepted", "recv_duplicate", "recv_epoch_changes")}
        assert not refused, (n, counters)  # none unsealed, undecryptable, bad_signature, ...
    held = [json.loads(x) for x in (tmp_path / "out" / "tracks.jsonl").read_text().splitlines()]
    assert any(d["node"] == "jp" and "kr" in d["nations"] for d in held)
