"""Tabletop benchmark: the scripted 30-minute bundled scenario (guam-nuclear: the IRBM toward Guam through
the exercise engine over real NATS, then the stated detonation and 18 scripted decisions), end to end as
`triwarn tabletop run` does it, AAR/IP in HTML and PDF included.

    .venv/bin/python bench/bench_tabletop.py

Goal (issue 17): under 60 s of wall time. The machine's other load shows in the wall figure, so the CPU
seconds (this process and its children: nats-servers, the baseline worker) are printed too. Nearly all of
it is the base run (three nodes in lockstep over NATS; the no-sharing baseline in a second process), and
most of that is the nodes' own work (impact prediction and area risk, fusion); the transport is about an
eighth (cProfile: `.venv/bin/python -m cProfile -o t.prof bench/bench_tabletop.py`).
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from triwarn.tabletop.plan import load_tabletop
from triwarn.tabletop.script import run_scripted


def cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    plan = load_tabletop("guam-nuclear")
    with tempfile.TemporaryDirectory(prefix="bench-tabletop-") as tmp:
        wall0, cpu0 = time.perf_counter(), cpu_s()
        aar = run_scripted("guam-nuclear", plan.folder / "decisions.yaml", Path(tmp))
        wall, cpu = time.perf_counter() - wall0, cpu_s() - cpu0
        pdf_kb = (Path(tmp) / "aar.pdf").stat().st_size / 1024
    ov = aar["overview"]
    system = ov["system"]
    print(f"tabletop guam-nuclear: {ov['duration_s']:.0f} s of scenario time in {wall:.1f} s wall "
          f"({cpu:.1f} s CPU); base run {aar['wall']['wall_s']:.1f} s (picture feed "
          f"{aar['wall']['picture_feed_s']:.1f} s of it; it ended at T+{system['ended_s']:.0f} s: "
          f"{system['ended']}; {len(system['system_injects'])} MSEL injects played into it); "
          f"{ov['injects_delivered']} injects, "
          f"{ov['decisions']} decisions, {ov['refused']} refused; PDF {pdf_kb:.0f} kB "
          f"[goal: < 60 s wall: {'met' if wall < 60 else 'NOT met'}]")


if __name__ == "__main__":
    main()
