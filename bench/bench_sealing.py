"""End-to-end encryption's cost: seal and admit rates, plaintext (signed) against sealed (encrypted to the
recipient, then signed), one core, no network.

    .venv/bin/python bench/bench_sealing.py              # 2,000 messages per case, best of 3
    .venv/bin/python bench/bench_sealing.py --msgs 500

Goal (issue 4, kept with issue 16's encryption): >= 20,000 track states/s sealed and admitted per node.
The machine's other load shows in the figures: the best of three runs is printed, plain and sealed
interleaved so both see the same load.
"""

from __future__ import annotations

import argparse
import time

from triwarn.share import signing
from triwarn.share.admission import Admission
from triwarn.share.policy import load_network
from triwarn.share.schema import TrackReport, TrackState
from triwarn.share.sealing import Sealer
from triwarn.share.sender import Sender

COV = [1e4, 0.0, 0.0, 100.0, 0.0, 0.0, 1e4, 0.0, 0.0, 100.0, 0.0, 1e4, 0.0, 0.0, 100.0,
       25.0, 0.0, 0.0, 25.0, 0.0, 25.0]


def _tracks(n: int, t: float) -> list[TrackState]:
    return [TrackState(track_id=f"kr-{i}", t_unix_s=t, pos_ecef_m=[-3.1e6 + i, 4.1e6, 3.9e6],
                       vel_ecef_mps=[1200.0, -300.0, 2000.0], cov_ecef=list(COV), mode="ballistic",
                       quality=0.9, nations=["kr"]) for i in range(n)]


def once(sealed: bool, per_msg: int, n_msgs: int, spec, keys, boxes, trust) -> tuple[float, float, int]:
    """(seal s, admit s, bytes per message) for n_msgs track reports KR -> JP."""
    kr_sealer = Sealer("kr", boxes["kr"], trust) if sealed else None
    jp_sealer = Sealer("jp", boxes["jp"], trust) if sealed else None
    sender = Sender("kr", keys["kr"], spec, sealer=kr_sealer)
    adm = Admission("jp", spec, trust, sealer=jp_sealer)
    now = time.time()
    tracks = _tracks(per_msg, now)
    t0 = time.perf_counter()
    wires = [sender.seal(TrackReport, now, to=("jp",), tracks=tracks).data_for("jp") for _ in range(n_msgs)]
    t_seal = time.perf_counter() - t0
    t0 = time.perf_counter()
    ok = sum(adm.admit(w, "tw.kr.jp.track", now).accepted for w in wires)
    t_admit = time.perf_counter() - t0
    assert ok == n_msgs, adm.counters
    return t_seal, t_admit, len(wires[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--msgs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    boxes = {n: signing.BoxKey.generate() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()},
                               {n: k.public_key for n, k in boxes.items()})
    print(f"{'tracks/msg':>10s} {'wire':>8s} {'seal tracks/s':>14s} {'admit tracks/s':>15s} {'bytes/msg':>10s}")
    for per_msg in (1, 10, 50):
        best: dict[bool, list] = {}
        for _ in range(args.repeat):
            for sealed in (False, True):
                t_seal, t_admit, size = once(sealed, per_msg, args.msgs, spec, keys, boxes, trust)
                prev = best.get(sealed)
                best[sealed] = [min(t_seal, prev[0]) if prev else t_seal, min(t_admit, prev[1]) if prev else t_admit,
                                size]
        for sealed in (False, True):
            t_seal, t_admit, size = best[sealed]
            n = args.msgs * per_msg
            print(f"{per_msg:10d} {'sealed' if sealed else 'plain':>8s} {n / t_seal:14.0f} {n / t_admit:15.0f} "
                  f"{size:10d}", flush=True)


if __name__ == "__main__":
    main()
