"""`triwarn replay`: the whole chain on recorded data, on a simulated clock, as fast as it can go.

One node per nation that owns a sensor, over a local three-server NATS network (US hub) started for
the run, advanced in lockstep (triwarn.node.lockstep). With share=False each nation runs alone. The
run also computes the no-sharing baseline, in a second process beside the shared run (BaselineProcess),
so the summary can show per area what sharing gained (first shelter-alert time with and without
partner data).

Outputs in DIR, written by the nodes' output sink (triwarn.node.outputs, as a live node's; an issued
CAP file is never overwritten): tracks.jsonl (every node's fused system tracks, the tracker's format plus "node" and
"nations"), events.jsonl (assessment events plus "node"), cap/*.xml (every CAP message as issued,
`sent` the sim time), cot/*.xml (CoT events: tracks and ellipses every cot_interval_s, alert areas at
every warning), summary.json (per node, incident and area: first shelter alert, passed, all-clear,
cancel; and the sharing gain).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from triwarn.exercise.alerts import area_firsts
from triwarn.exercise.metrics import gain_reason
from triwarn.geo.areas import AreaIndex
from triwarn.node.core import NationalNode, NodeSettings
from triwarn.node.lockstep import LinkModel, NodeFeed, run_lockstep
from triwarn.node.outputs import OutputSink
from triwarn.node.runner import NodeTransport
from triwarn.progress import clock_progress
from triwarn.records.detections import MeasurementLog
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.share import signing
from triwarn.share.policy import NetworkSpec, load_network
from triwarn.share.servers import LocalNetwork
from triwarn.share.transport import ShareTransport
from triwarn.warn.policy import new_run_id
from triwarn.wording import plural

NATION_ORDER = ("kr", "us", "jp")
COT_INTERVAL_S = 10.0  # CoT tracks and ellipses written every this many sim s (alert areas at every warning)
# (the outputs: triwarn.node.outputs.OutputSink, the same sink as a live node's, through run_outputs)


def run_outputs(out: Path, cot_interval_s: float = COT_INTERVAL_S) -> OutputSink:
    """The output sink of a replay or exercise folder: cap/, cot/, tracks.jsonl, events.jsonl."""
    return OutputSink(out, cap=True, cot=True, tracks=True, events=True, cot_interval_s=cot_interval_s)


def nations_with_sensors(sensors: Mapping[str, object]) -> list[str]:
    """The nations owning at least one of the sensors, in NATION_ORDER."""
    owned = {getattr(s, "nation", None) for s in sensors.values()}
    return [n for n in NATION_ORDER if n in owned]


def make_nodes(sensors, nations, *, exercise: str, areas, run_tag: str,
               transports: Mapping[str, ShareTransport] | None = None,
               cot_interval_s: float = COT_INTERVAL_S, hazard_notice=None) -> dict[str, NationalNode]:
    """One node per nation with its own sensors; with transports, each node seals with its transport's
    sender (one sequence for everything it publishes) and admits with its transport's admission.
    cot_interval_s: how often the nodes make CoT track and ellipse events (run_outputs writes them at
    the same cadence)."""
    nodes = {}
    for n in nations:
        own = {sid: s for sid, s in sensors.items() if getattr(s, "nation", None) == n}
        tr = (transports or {}).get(n)
        if tr is not None:
            tr.set_exercise(exercise)  # sealed and admitted in the node's mode (live and exercise never meet)
        settings = NodeSettings(nation=n, exercise=exercise, run_id=f"{run_tag}{n}", share=tr is not None,
                                cot_interval_s=cot_interval_s, hazard_notice=hazard_notice)
        nodes[n] = NationalNode(settings, own, sender=tr.sender if tr else None,
                                admission=tr.admission if tr else None, areas=areas)
    return nodes


def step_times(log: MeasurementLog, step_s: float) -> np.ndarray:
    """Whole multiples of step_s covering the data span (plus a minute, for the all-clears)."""
    ts = [log.radar.t_unix_s, log.ir.t_available_unix_s]
    ts = [x for x in ts if len(x)]
    t0 = min(float(x.min()) for x in ts)
    t1 = max(float(x.max()) for x in ts)
    return np.arange(np.floor(t0 / step_s) * step_s, np.ceil(t1 / step_s) * step_s + 60.0 + step_s / 2, step_s)


def first_alerts(issued_by_node: Mapping[str, list]) -> dict:
    """Per node, incident and area: first shelter alert, first notice, passed, all-clear, cancel (sim s)."""
    out: dict = {}
    for node, msgs in issued_by_node.items():
        for m in msgs:
            inc = out.setdefault(node, {}).setdefault(m.incident, {})
            for a in m.areas:
                rec = inc.setdefault(a.code, {"first_shelter_unix_s": None, "first_notice_unix_s": None,
                                              "passed_unix_s": None, "all_clear_unix_s": None,
                                              "cancel_unix_s": None})
                key = {"shelter": "first_shelter_unix_s", "notice": "first_notice_unix_s",
                       "passed": "passed_unix_s", "clear": "all_clear_unix_s",
                       "error": "cancel_unix_s"}.get(a.state)
                if m.msg_type == "Cancel":
                    key = "cancel_unix_s"
                if key and rec[key] is None:
                    rec[key] = m.sent_unix_s
    return out


def gain_rows(shared: dict, alone: dict) -> list[dict]:
    """Per (node, area) alerted in either run: first shelter alert and first information notice (an
    impact in the EEZ only) with and without sharing, and the seconds sharing gained (positive: earlier)."""
    kinds = {"shelter": "first_shelter_unix_s", "notice": "first_notice_unix_s"}
    firsts = {kind: (area_firsts(shared, f), area_firsts(alone, f)) for kind, f in kinds.items()}
    keys = sorted(set().union(*(set(a) | set(b) for a, b in firsts.values())))
    rows = []
    for key in keys:
        row: dict = {"node": key[0], "area": key[1]}
        for kind, (with_share, by_itself) in firsts.items():
            a, b = with_share.get(key), by_itself.get(key)
            row[f"first_{kind}_shared_unix_s"] = a
            row[f"first_{kind}_alone_unix_s"] = b
            row["gain_s" if kind == "shelter" else "notice_gain_s"] = (b - a) if (a is not None and b is not None) \
                else None
        row["gain_reason"] = gain_reason(row["first_shelter_shared_unix_s"], row["first_shelter_alone_unix_s"])
        rows.append(row)
    return rows


def run_baseline(sensors, log: MeasurementLog, nations, times, *, exercise: str, areas, run_tag: str,
                 feeds=None, on_step=None, sink: OutputSink | None = None, hazard_notice=None) -> dict:
    """Each nation alone (no partner data): returns the issued messages per node. Without on_step or a
    sink nothing is written, so the nodes make no CoT events."""
    writes = on_step is not None or sink is not None
    nodes = make_nodes(sensors, nations, exercise=exercise, areas=areas, run_tag=run_tag,
                       cot_interval_s=COT_INTERVAL_S if writes else np.inf, hazard_notice=hazard_notice)
    feeds = feeds if feeds is not None else {n: NodeFeed.for_nation(log, sensors, n) for n in nations}
    asyncio.run(run_lockstep(nodes, feeds, times, on_step=on_step, sink=sink))
    return {n: node.issued for n, node in nodes.items()}


def baseline_alerts(sensors, log: MeasurementLog, nations, times, exercise: str, run_tag: str,
                    hazard_notice=None) -> tuple[dict, float]:
    """Each nation alone on the same detections: first alerts per node (first_alerts) and the wall
    seconds it took. Made to run in a worker process (start_baseline)."""
    w = time.perf_counter()
    issued = run_baseline(sensors, log, nations, times, exercise=exercise, areas=AreaIndex.load(), run_tag=run_tag,
                          hazard_notice=hazard_notice)
    return first_alerts(issued), time.perf_counter() - w


class BaselineProcess:
    """The no-sharing baseline in a second process (spawned: no state shared with the caller's threads
    or event loop), running beside the shared run on the machine's other core. It needs nothing from
    the shared run; its result is the same as run in-process (same inputs, same seeds).

        base = BaselineProcess(sensors, log, nations, times, exercise="X", run_tag=tag)
        ...                                   # the shared run
        alerts, wall_s = base.result()        # or await base.wait() in an event loop
    """

    def __init__(self, sensors, log: MeasurementLog, nations, times, *, exercise: str, run_tag: str,
                 hazard_notice=None) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._future = self._pool.submit(baseline_alerts, sensors, log, list(nations), times, exercise, run_tag,
                                         hazard_notice)

    def result(self) -> tuple[dict, float]:
        try:
            return self._future.result()
        finally:
            self._pool.shutdown()

    async def wait(self) -> tuple[dict, float]:
        try:
            return await asyncio.wrap_future(self._future)
        finally:
            self._pool.shutdown()

    def cancel(self) -> None:
        """Give up on it (the shared run failed): the worker is not waited for."""
        self._pool.shutdown(wait=False, cancel_futures=True)


async def run_shared(sensors, log: MeasurementLog, nations, times, *, exercise: str, areas, spec: NetworkSpec,
                     workdir: Path, on_step, links: LinkModel | None, run_tag: str,
                     future_skew_s: float = 5.0, max_age_s: float = 900.0, feeds=None, hazard_notice=None,
                     **lockstep) -> tuple[dict, dict]:
    """The nations' nodes over a local NATS network started for the run (in workdir), in lockstep.

    feeds: the nodes' detections (default: cut from log). future_skew_s / max_age_s: the receivers'
    admission window. hazard_notice: the scenario's declared zones (falls at sea told against them).
    Extra keyword arguments go to run_lockstep (sink, on_tick, speed, run_log).
    Returns the issued warnings per node and the run's counters (with each transport's counters).
    Keys are made for the run: a signing key and an encryption key per nation, so every message is
    sealed end to end to each recipient (share/sealing.py) and the hub relays ciphertext, as between
    CLI nodes with keys from `triwarn keys new`.
    """
    keys = {n: signing.new_key() for n in spec.nations}
    box_keys = {n: signing.new_box_key() for n in spec.nations}
    feeds = feeds if feeds is not None else {n: NodeFeed.for_nation(log, sensors, n) for n in nations}
    net = await asyncio.to_thread(LocalNetwork.start, spec, workdir)
    transports = {}
    try:
        trust = signing.TrustStore()
        for n, k in keys.items():
            trust.add(n, k, box_keys[n])
        for n in nations:
            tr = NodeTransport(n, spec, keys[n], trust, **net.node_credentials(n), durable=f"replay{run_tag}",
                               future_skew_s=future_skew_s, max_age_s=max_age_s, exercise=exercise,
                               box_key=box_keys[n])
            await tr.connect()
            transports[n] = tr
        nodes = make_nodes(sensors, nations, exercise=exercise, areas=areas, run_tag=run_tag,
                           transports=transports, hazard_notice=hazard_notice)
        stats = await run_lockstep(nodes, feeds, times, transports=transports, links=links, on_step=on_step,
                                   **lockstep)
        for n, tr in transports.items():
            stats[f"{n}_counters"] = tr.counters
    finally:
        for tr in transports.values():
            await tr.close()
        await asyncio.to_thread(net.close)
    return {n: node.issued for n, node in nodes.items()}, stats


def run_in_process(sensors, log: MeasurementLog, *, share: bool, step_s: float = 1.0, exercise: str = "REPLAY",
                   areas=None, spec: NetworkSpec | None = None, run_tag: str = "inproc", node_hook=None,
                   times=None) -> dict[str, list]:
    """The whole chain on recorded detections with every node in this process (no NATS): sharing over
    triwarn.node.inproc_bus (same sealing, signatures and admission), or each nation alone. For
    calibration families and the never-later checks, where hundreds of runs are needed. node_hook(nodes),
    if given, may adjust the nodes before the run (a benchmark's settings). Returns the issued warnings
    per node (WarningMessage lists). areas: default the per-process CellAreaIndex (AreaIndex's answers,
    classified faster)."""
    from triwarn.geo.area_cells import CellAreaIndex
    from triwarn.node.inproc_bus import InProcessBus

    nations = nations_with_sensors(sensors)
    times = step_times(log, step_s) if times is None else times
    areas = CellAreaIndex.load() if areas is None else areas
    transports = None
    if share:
        bus = InProcessBus(spec or load_network(None), exercise=exercise)
        transports = {n: bus.transport(n) for n in nations}
    nodes = make_nodes(sensors, nations, exercise=exercise, areas=areas, run_tag=run_tag, transports=transports,
                       cot_interval_s=np.inf)
    if node_hook is not None:
        node_hook(nodes)
    feeds = {n: NodeFeed.for_nation(log, sensors, n) for n in nations}
    asyncio.run(run_lockstep(nodes, feeds, times, transports=transports))
    return {n: node.issued for n, node in nodes.items()}


def replay(sensors_path: Path, measurements_path: Path, out: Path, *, share: bool = True,
           step_s: float = 1.0, exercise: str = "REPLAY", network: Path | None = None,
           links: LinkModel | None = None, baseline: bool = True, progress: bool | None = None) -> dict:
    """Run the replay; returns the summary (also written to out/summary.json). progress: a progress line
    on stderr (sim time, alerts; None: when stderr is a terminal, triwarn.progress.wanted)."""
    sensors = load_sensors(sensors_path)
    log = read_measurements(measurements_path, sensors)
    nations = nations_with_sensors(sensors)
    times = step_times(log, step_s)
    areas = AreaIndex.load()
    run_tag = new_run_id(float(times[0]), os.urandom(8))
    outputs = run_outputs(out)
    base = BaselineProcess(sensors, log, nations, times, exercise=exercise, run_tag=run_tag + "b") \
        if share and baseline else None
    bar, on_tick = clock_progress("replay", len(times), float(times[0]), enabled=progress,
                                  extra=lambda: plural(outputs.cap_count, "CAP message"))
    try:
        bar.start()
        if share:
            spec = load_network(network)
            with tempfile.TemporaryDirectory(prefix="triwarn-replay-") as tmp:
                issued, stats = asyncio.run(run_shared(
                    sensors, log, nations, times, exercise=exercise, areas=areas, spec=spec,
                    workdir=Path(tmp), on_step=None, links=links, run_tag=run_tag, sink=outputs,
                    on_tick=on_tick))
        else:
            nodes = make_nodes(sensors, nations, exercise=exercise, areas=areas, run_tag=run_tag)
            feeds = {n: NodeFeed.for_nation(log, sensors, n) for n in nations}
            stats = asyncio.run(run_lockstep(nodes, feeds, times, sink=outputs, on_tick=on_tick))
            issued = {n: node.issued for n, node in nodes.items()}
    except BaseException:
        if base is not None:
            base.cancel()
        raise
    finally:
        bar.stop()
        outputs.close()
    alerts = first_alerts(issued)
    summary = {"share": share, "exercise": exercise, "nations": nations, "step_s": step_s,
               "t_start_unix_s": float(times[0]), "t_end_unix_s": float(times[-1]),
               "measurements": len(log), "skipped": log.skips.total, "cap_messages": outputs.cap_count,
               "cot_events": outputs.cot_count, "transport": stats, "alerts": alerts}
    if base is not None:
        base_alerts, _wall = base.result()
        summary["no_share_alerts"] = base_alerts
        summary["sharing_gain"] = gain_rows(alerts, base_alerts)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    return summary
