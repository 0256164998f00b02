"""Disk and output faults (issue 16): a full or unwritable output folder never stops the node.

- A real full filesystem (a 256 KiB tmpfs mounted for the test, filled up): Japan's node runs the short
  MRBM case through its alert; the step does not raise, the alert is in the step results and the feed,
  health and metrics say the outputs fail (ENOSPC) and the CAP document waits in the queue; once space
  returns the next step writes it (and the later ones as they come), each file once.
- The same tmpfs remounted read-only (EROFS), and an output folder replaced by a file (ENOTDIR, no
  mount needed): counted per kind, CAP queued in order, written when the folder is back.
- A live node's heartbeat says "degraded" while its outputs fail, "ok" again once they are written.
- A name clash is still an error (tests/node/test_runner.py), also for a queued document.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from triwarn.exercise.replay import make_nodes
from triwarn.geo.areas import AreaIndex
from triwarn.node.core import NationalNode, NodeSettings, StepResult
from triwarn.node.lockstep import NodeFeed
from triwarn.node.outputs import OutputSink
from triwarn.node.runner import NodeRunner
from triwarn.records.tracks import SystemTracks
from triwarn.records.warnings import AreaWarning, WarningMessage
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.schema import Heartbeat
from triwarn.share.sender import Sender
from triwarn.warn.cap import cap_filename
from triwarn.warn.profiles import check_profile, profiles
from triwarn.warn.xmlsig import run_key, verify_cap

HERE = Path(__file__).parent
T0 = 1_700_000_000.0
STEP_S = 2.0


# ------------------------------------------------------------------------------------------ helpers
@pytest.fixture
def tmpfs(tmp_path):
    """A 256 KiB tmpfs mounted at tmp_path/mnt for the test (root only; skipped, saying why, if not)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if shutil.which("mount") is None:
        print("SKIP: no mount command here")
        pytest.skip("no mount command: cannot make a real full filesystem")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip()
        print(f"SKIP: cannot mount a tmpfs ({why}); run as root (or with CAP_SYS_ADMIN) to test a full disk")
        pytest.skip(f"cannot mount a tmpfs ({why}): run as root to test a full disk")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(mnt: Path) -> Path:
    """Fill the filesystem until ENOSPC; returns the filler file (delete it to free the space)."""
    filler = mnt / "filler"
    with pytest.raises(OSError, match="No space left"), open(filler, "wb") as fh:
        for _ in range(10_000):
            fh.write(b"x" * 4096)
            fh.flush()
    return filler


def _warning(identifier: str, sent: float = T0) -> WarningMessage:
    return WarningMessage(sender="jp", identifier=identifier, incident="I1", sent_unix_s=sent, msg_type="Alert",
                          references=(), areas=(AreaWarning("JP-01", "shelter", "overflight", 0.9, T0 + 200.0),),
                          expires_unix_s=T0 + 3600.0, exercise="DRILL")


def _result(t: float = T0, **kw) -> StepResult:
    base = dict(t_unix_s=t, outgoing=[], system_tracks=SystemTracks.empty(), own_tracks=None, events=[],
                warnings=[], cap_xml=[], cot_xml=[])
    return StepResult(**{**base, **kw})


def _cap(k: int) -> tuple[WarningMessage, bytes]:
    return _warning(f"JP-{k}"), f"<alert>{k}</alert>".encode() * 50


# ------------------------------------------------------------------------- a real full filesystem
@pytest.fixture(scope="module")
def mrbm(tmp_path_factory) -> dict:
    sim = tmp_path_factory.mktemp("mrbm") / "sim"
    run_simulate(HERE / "short_mrbm.yaml", sim, seed=3)
    sensors = load_sensors(sim / "sensors.yaml")
    return {"sensors": sensors, "log": read_measurements(sim / "measurements.jsonl", sensors)}


def test_a_full_disk_does_not_stop_the_alert_and_the_cap_file_follows_when_space_returns(tmpfs, mrbm):
    sensors, log = mrbm["sensors"], mrbm["log"]
    node = make_nodes(sensors, ["jp"], exercise="TEST", areas=AreaIndex.load(), run_tag="F")["jp"]
    feed = NodeFeed.for_nation(log, sensors, "jp")
    sink = OutputSink(tmpfs / "out")  # a live node's sink: CAP files only
    seen: list[StepResult] = []
    now = [0.0]
    runner = NodeRunner(node, None, lambda: now[0], sink=sink, on_step=lambda _n, r: seen.append(r))
    filler = _fill(tmpfs)
    times = np.arange(np.floor(float(feed.radar.t_unix_s.min())), float(feed.radar.t_unix_s.max()) + 60.0, STEP_S)
    prev = -np.inf
    k = 0

    def step() -> StepResult:
        nonlocal prev, k
        t = float(times[k])
        now[0] = t
        radar, ir = feed.slice(prev, t)
        prev, k = t, k + 1
        return runner.step(t, radar, ir)[0]  # must not raise

    while not runner.cap_issued:
        step()
    for _ in range(3):  # the node goes on stepping on the full disk
        step()
    issued = [(m, x) for r in seen for m, x in r.cap_xml]
    assert issued and issued[0][0].msg_type == "Alert"
    assert any(w.msg_type == "Alert" for r in seen for w in r.warnings)
    assert list(sink.cap_docs) == [x for _m, x in issued]  # in the feed
    health = runner.outputs_status()
    assert health["state"] == "failing" and health["failing"] == ["cap"]
    assert health["cap_queued"] == len(issued) and health["cap_written"] == 0
    assert health["errors"]["cap"] >= 1
    assert health["last_error"]["error"] == "ENOSPC: No space left on device"
    assert health["last_error"]["file"].endswith(cap_filename(issued[0][0]))
    assert list((tmpfs / "out" / "cap").iterdir()) == []  # no empty or partial file left behind
    metrics = runner.metrics.render().decode()
    assert 'triwarn_node_output_errors_total{kind="cap",nation="jp"}' in metrics
    assert 'triwarn_node_cap_queued{nation="jp"} 1.0' in metrics
    assert 'triwarn_node_outputs_failing{nation="jp"} 1.0' in metrics

    filler.unlink()  # space returns
    step()
    health = runner.outputs_status()
    assert health["state"] == "ok" and health["cap_queued"] == 0 and health["cap_written"] == len(issued)
    for msg, xml in issued:
        assert (tmpfs / "out" / "cap" / cap_filename(msg)).read_bytes() == xml
    assert 'triwarn_node_outputs_failing{nation="jp"} 0.0' in runner.metrics.render().decode()
    while k < len(times):  # the rest of the flight, written as it comes
        step()
    assert runner.cap_issued > len(issued)
    files = sorted(p.name for p in (tmpfs / "out" / "cap").iterdir())
    assert files == sorted(cap_filename(m) for r in seen for m, _x in r.cap_xml)
    sink.close()
    # Every file the node wrote is what Japan's channels take (issue 15): its profile, one state per
    # message, signed with the run's key and verified on read.
    for path in (tmpfs / "out" / "cap").iterdir():
        data = path.read_bytes()
        assert check_profile(data, profiles()["jp"]) == [], path.name
        verify_cap(data, run_key("jp").cert_pem, source=path.name)


def _tracks(t: float) -> SystemTracks:
    return SystemTracks(track_id=["JP-S1"], t_unix_s=[t], pos_ecef_m=np.array([[-3.0e6, 4.0e6, 3.9e6]]),
                        vel_ecef_mps=np.zeros((1, 3)), cov_ecef_m2=np.eye(6)[None], nations=[("jp",)],
                        sources=[("jp:JP-T1",)])


def test_full_then_read_only_folder_every_kind_counted_cap_kept_in_order(tmpfs):
    sink = OutputSink(tmpfs / "out", cot=True, tracks=True, cot_interval_s=0.0)
    filler = _fill(tmpfs)
    cot = [b'<event type="u-d-f">' + b"x" * 2000 + b"</event>"]
    sink.on_step("jp", _result(T0, cap_xml=[_cap(1), _cap(2)], cot_xml=cot, system_tracks=_tracks(T0)))
    sink.on_step("jp", _result(T0 + 1, cap_xml=[_cap(3)], cot_xml=cot, system_tracks=_tracks(T0 + 1)))
    st = sink.status()
    assert st["state"] == "failing" and st["failing"] == ["cap", "cot", "tracks"]
    assert st["cap_queued"] == 3 and st["errors"]["cot"] == 2 and st["errors"]["tracks"] == 2
    # One attempt per step while the folder fails (the queue's head), not one per document.
    assert st["errors"]["cap"] == 2
    assert [p.name for p in (tmpfs / "out" / "cap").iterdir()] == []
    assert [p.name for p in (tmpfs / "out" / "cot").iterdir()] == []
    sink.close()  # the tracks file's last flush fails too: counted, not raised (and the mount is free)
    assert sink.errors["tracks"] == 3
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    try:
        sink.on_step("jp", _result(T0 + 2, cap_xml=[_cap(4)]))
        st = sink.status()
        assert st["last_error"]["error"] == "EROFS: Read-only file system" and st["cap_queued"] == 4
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    filler.unlink()
    sink.on_step("jp", _result(T0 + 3))
    assert sink.status()["cap_queued"] == 0 and sink.cap_written == 4
    caps = tmpfs / "out" / "cap"
    assert [(caps / cap_filename(m)).read_bytes() for m, _x in map(_cap, range(1, 5))] == \
        [x for _m, x in map(_cap, range(1, 5))]
    assert sink.cap_count == 4 and len(sink.cap_docs) == 4
    sink.on_step("jp", _result(T0 + 4, cot_xml=cot))
    # CoT is written again; tracks stay failing (their last lines were lost at close, nothing wrote since).
    assert sink.cot_count == 1 and sink.status()["failing"] == ["tracks"]


def test_a_folder_replaced_by_a_file_is_a_fault_not_a_crash(tmp_path):
    out = tmp_path / "out"
    sink = OutputSink(out, tracks=True, events=True)
    shutil.rmtree(out / "cap")
    (out / "cap").write_text("not a folder")  # mkdir cap/ fails: EEXIST on the folder, not a name clash
    sink.on_step("jp", _result(T0, cap_xml=[_cap(1)]))
    st = sink.status()
    assert st["failing"] == ["cap"] and st["cap_queued"] == 1
    assert st["last_error"]["file"] == str(out / "cap")
    shutil.rmtree(out)
    out.write_text("the whole folder is a file now")  # ENOTDIR
    sink.on_step("jp", _result(T0 + 1, cap_xml=[_cap(2)]))
    assert sink.status()["last_error"]["error"] == "ENOTDIR: Not a directory"
    out.unlink()
    out.mkdir()
    sink.on_step("jp", _result(T0 + 2))
    assert sink.ok and sorted(p.name for p in (out / "cap").iterdir()) == ["JP-1.xml", "JP-2.xml"]
    sink.close()  # the tracks/events files were unlinked with the folder: closing them is no error


def test_the_queue_is_bounded_and_a_queued_clash_is_still_an_error(tmp_path):
    out = tmp_path / "out"
    sink = OutputSink(out)
    sink.cap_queue_max = 2
    (out / "cap").rmdir()
    (out / "cap").write_text("")
    sink.on_step("jp", _result(T0, cap_xml=[_cap(1), _cap(2), _cap(3)]))
    assert sink.status()["cap_queued"] == 2 and sink.cap_dropped == 1 and len(sink.cap_docs) == 3
    (out / "cap").unlink()
    (out / "cap").mkdir()
    (out / "cap" / "JP-2.xml").write_bytes(b"<alert>another run</alert>")
    with pytest.raises(FileExistsError, match="never overwritten"):
        sink.on_step("jp", _result(T0 + 1))
    assert (out / "cap" / "JP-2.xml").read_bytes() == b"<alert>another run</alert>"
    sink.on_step("jp", _result(T0 + 2))  # the clashing document is out of the queue, the rest goes on
    assert sink.ok and (out / "cap" / "JP-3.xml").exists()


# ------------------------------------------------------------------------------------ heartbeats
def test_a_live_nodes_heartbeat_is_degraded_while_its_outputs_fail(tmp_path):
    spec = load_network()
    senders = {n: Sender(n, signing.new_key(), spec) for n in spec.nations}
    node = NationalNode(NodeSettings("jp", exercise=None, run_id="tout"), {}, sender=senders["jp"])
    transport = SimpleNamespace(spec=spec, admission=SimpleNamespace(counters={}), last_reject={})
    sink = OutputSink(tmp_path / "out")
    now = [T0]
    runner = NodeRunner(node, transport, lambda: now[0], sink=sink)

    def beat(t: float, **kw) -> str:
        now[0] = t
        for p in ("kr", "us"):
            runner.receive(senders[p].seal(Heartbeat, t - 0.5, node_state="ok").msg, t - 0.5)
        outs = runner.finish(t, _result(t, **kw), 0.0)
        return next(o.msg.node_state for o in outs if isinstance(o.msg, Heartbeat))

    assert beat(T0) == "ok"
    (tmp_path / "out" / "cap").rmdir()
    (tmp_path / "out" / "cap").write_text("")
    assert beat(T0 + 2.0, cap_xml=[_cap(1)]) == "degraded"
    assert runner.outputs_status()["state"] == "failing"
    (tmp_path / "out" / "cap").unlink()
    assert beat(T0 + 4.0) == "ok"  # written at this step, before the heartbeat
    assert (tmp_path / "out" / "cap" / "JP-1.xml").exists()
