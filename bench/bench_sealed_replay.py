"""What end-to-end sealing costs a replay: `triwarn replay` of the Aomori IRBM case (shared run plus the
no-share baseline, as bench_exercise.py --only replay) with the run's encryption keys (sealed, the
default since issue 16) and without them (signed only), alternating.

    .venv/bin/python bench/bench_sealed_replay.py               # 2 rounds, seed 1
    .venv/bin/python bench/bench_sealed_replay.py --rounds 3 --seed 2
    .venv/bin/python bench/bench_sealed_replay.py --profile     # one sealed run: CPU in sealing itself

On a loaded machine the wall and CPU figures of whole runs move by more than sealing costs; --profile
measures the sealing directly instead (cProfile of one sealed run: the seconds spent sealing frames and
opening them, against the run's profiled total; the baseline worker, which seals nothing, is outside).

Prints, per run, the wall and CPU seconds (user + system of this process and its ended children: the
nats-servers and the baseline worker) and the messages delivered; then the medians per mode. The
"signed only" runs drop the box key the run made (exercise.replay.NodeTransport is wrapped), nothing else.
"""

from __future__ import annotations

import argparse
import importlib.resources
import resource
import statistics
import tempfile
import time
from pathlib import Path

from triwarn.exercise import replay as replay_mod


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Unsealed(replay_mod.NodeTransport):
    """The run's transport without its encryption key: messages signed, not sealed."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.pop("box_key", None)
        super().__init__(*args, **kwargs)


def run_once(sim: Path, out: Path, sealed: bool) -> tuple[float, float, int, int]:
    original = replay_mod.NodeTransport
    replay_mod.NodeTransport = original if sealed else _Unsealed
    try:
        c0, t0 = _cpu_s(), time.perf_counter()
        summary = replay_mod.replay(sim / "sensors.yaml", sim / "measurements.jsonl", out, progress=False)
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    finally:
        replay_mod.NodeTransport = original
    rejected = sum(v for n in summary["nations"] for k, v in summary["transport"][f"{n}_counters"].items()
                   if k.startswith("recv_") and k not in ("recv_accepted", "recv_duplicate", "recv_epoch_changes"))
    return wall, cpu, summary["transport"]["delivered"], rejected


def profile_once(sim: Path, out: Path) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    summary = replay_mod.replay(sim / "sensors.yaml", sim / "measurements.jsonl", out, progress=False,
                                baseline=False)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    spent = {"seal": 0.0, "open": 0.0}
    for (file, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        if name in spent and file.endswith("sealing.py"):
            spent[name] += cumulative
    print(f"profiled sealed run (no baseline): {total:.1f} s in all; Sealer.seal {spent['seal']:.2f} s, "
          f"Sealer.open {spent['open']:.2f} s ({100 * sum(spent.values()) / total:.1f}% of the run); "
          f"{summary['transport']['delivered']} partner messages delivered")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="one sealed run under cProfile instead")
    args = ap.parse_args()
    from triwarn.sensors.commands import run_simulate

    path = Path(str(importlib.resources.files("triwarn") / "scenarios" / "2022-10-04-irbm-aomori.yaml"))
    figures: dict[str, list[tuple[float, float]]] = {"signed only": [], "sealed": []}
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        run_simulate(path, sim, seed=args.seed)
        if args.profile:
            profile_once(sim, Path(tmp) / "out-profile")
            return
        for r in range(args.rounds):
            for sealed in (False, True):
                mode = "sealed" if sealed else "signed only"
                wall, cpu, delivered, rejected = run_once(sim, Path(tmp) / f"out-{r}-{mode[:4]}", sealed)
                figures[mode].append((wall, cpu))
                print(f"round {r + 1} {mode:11s}: wall {wall:5.1f} s, CPU {cpu:5.1f} s; {delivered} partner "
                      f"messages delivered, {rejected} refused", flush=True)
    for mode, rows in figures.items():
        print(f"median {mode:11s}: wall {statistics.median(w for w, _ in rows):.1f} s, "
              f"CPU {statistics.median(c for _, c in rows):.1f} s over {len(rows)} runs")


if __name__ == "__main__":
    main()
