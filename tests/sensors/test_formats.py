"""The recorded-data formats: round trips of every writer/reader, and every reader error case."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from triwarn.errors import InputError
from triwarn.records.detections import IrDetections, MeasurementLog, RadarDetections
from triwarn.sensors.definitions import IrSensor, RadarSensor, load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.sensors.truth_reader import TruthLog, read_truth
from triwarn.sensors.writers import write_measurements, write_sensors, write_truth

RADAR = dict(id="kr-1", nation="kr", kind="radar", lat_deg=37.0, lon_deg=127.5, alt_m=100.0,
             sigma_range_m=20.0, sigma_az_deg=0.05, sigma_el_deg=0.05, revisit_s=1.0, max_range_m=1.0e6,
             min_el_deg=1.0, p_detect=0.9)
GEO = dict(id="us-geo", nation="us", kind="ir", platform="geo", sub_lon_deg=140.0, sigma_los_urad=50.0,
           frame_s=1.0, latency_s=3.0, p_detect=0.95)
HEO = dict(id="us-heo", nation="us", kind="ir", platform="heo", sma_km=26554.0, ecc=0.72, incl_deg=63.4,
           raan_deg=40.0, argp_deg=270.0, mean_anomaly_deg=180.0, epoch_unix_s=1.6e9, sigma_los_urad=50.0,
           frame_s=2.0, latency_s=5.0, p_detect=0.9)


def write_yaml(path, entries):
    import yaml

    path.write_text(yaml.safe_dump({"sensors": entries}, sort_keys=False))
    return path


@pytest.fixture
def sensors():
    return {s["id"]: (RadarSensor if s["kind"] == "radar" else IrSensor)(**s) for s in (RADAR, GEO)}


def test_sensors_round_trip(tmp_path):
    path = write_yaml(tmp_path / "s.yaml", [RADAR | {"clutter_rate": 0.5, "scan_phase_s": 0.25}, GEO, HEO])
    sensors = load_sensors(path)
    assert list(sensors) == ["kr-1", "us-geo", "us-heo"]
    assert isinstance(sensors["kr-1"], RadarSensor) and sensors["kr-1"].clutter_rate == 0.5
    assert isinstance(sensors["us-heo"], IrSensor) and sensors["us-heo"].ecc == 0.72
    write_sensors(tmp_path / "again.yaml", sensors)
    assert load_sensors(tmp_path / "again.yaml") == sensors


def test_sensor_si_helpers():
    s = RadarSensor(**{k: v for k, v in RADAR.items() if k != "kind"})
    assert s.sigma_az_rad == pytest.approx(math.radians(0.05))
    assert s.min_el_rad == pytest.approx(math.radians(1.0))
    assert np.linalg.norm(s.pos_ecef_m) == pytest.approx(6_370_000, abs=20_000)
    assert IrSensor(**{k: v for k, v in GEO.items() if k != "kind"}).sigma_los_rad == pytest.approx(5e-5)


def test_sensors_ignore_extra_fields(tmp_path):
    path = write_yaml(tmp_path / "s.yaml", [RADAR | {"vendor_note": "x", "beam_count": 3}])
    assert load_sensors(path)["kr-1"].lat_deg == 37.0


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"kind": "sonar"}, "sensors[0].kind", "unknown sensor kind"),
        ({"nation": "fr"}, "sensors[0].nation", "unknown nation"),
        ({"lat_deg": 97.0}, "sensors[0].lat_deg", "latitude"),
        ({"lon_deg": 400.0}, "sensors[0].lon_deg", "longitude"),
        ({"sigma_range_m": -1.0}, "sensors[0].sigma_range_m", "negative"),
        ({"sigma_az_deg": -0.1}, "sensors[0].sigma_az_deg", "negative"),
        ({"p_detect": 1.5}, "sensors[0].p_detect", "[0, 1]"),
        ({"revisit_s": 0.0}, "sensors[0].revisit_s", "positive"),
        ({"max_range_m": -5.0}, "sensors[0].max_range_m", "positive"),
        ({"min_el_deg": 120.0}, "sensors[0].min_el_deg", "elevation"),
        ({"clutter_rate": -1.0}, "sensors[0].clutter_rate", "negative"),
        ({"sigma_el_deg": "abc"}, "sensors[0].sigma_el_deg", "float"),
        ({"p_detect": None}, "sensors[0].p_detect", "missing"),
        ({"lat_deg": float("nan")}, "sensors[0].lat_deg", "impossible"),
    ],
)
def test_impossible_radar_values_name_file_line_field(tmp_path, change, field, words):
    path = write_yaml(tmp_path / "s.yaml", [RADAR | change])
    with pytest.raises(InputError) as err:
        load_sensors(path)
    msg = str(err.value)
    assert str(path) in msg and f"'{field}'" in msg and words in msg
    assert err.value.line is not None and err.value.line >= 2


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        (GEO | {"platform": "leo"}, "platform", "geo"),
        ({k: v for k, v in GEO.items() if k != "sub_lon_deg"}, "sub_lon_deg", "GEO"),
        ({k: v for k, v in HEO.items() if k != "ecc"}, "ecc", "Keplerian"),
        (HEO | {"ecc": 0.99}, "ecc", "eccentricity"),
        (HEO | {"sma_km": 7000.0, "ecc": 0.5}, "ecc", "perigee"),
        (GEO | {"sigma_los_urad": -3.0}, "sigma_los_urad", "negative"),
        (GEO | {"latency_s": -1.0}, "latency_s", "negative"),
        (GEO | {"frame_s": 0.0}, "frame_s", "positive"),
    ],
)
def test_impossible_ir_values(tmp_path, entry, field, words):
    path = write_yaml(tmp_path / "s.yaml", [RADAR, entry])
    with pytest.raises(InputError, match=words) as err:
        load_sensors(path)
    assert err.value.field == f"sensors[1].{field}"
    assert err.value.source == str(path)


def test_unusable_sensor_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_sensors(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sensors: [\n  {id: a,\n")
    with pytest.raises(InputError, match="YAML"):
        load_sensors(bad)
    bad.write_text("radars: []\n")
    with pytest.raises(InputError, match="sensors"):
        load_sensors(bad)
    dup = write_yaml(tmp_path / "dup.yaml", [RADAR, RADAR])
    with pytest.raises(InputError, match="duplicate") as err:
        load_sensors(dup)
    assert err.value.field == "sensors[1].id"


def make_log(sensors) -> MeasurementLog:
    rng = np.random.default_rng(3)
    n = 50
    radar = RadarDetections(
        t_unix_s=1.6e9 + np.sort(rng.uniform(0, 100, n)), sensor_idx=np.zeros(n, np.int32),
        range_m=rng.uniform(1e5, 1e6, n), az_rad=rng.uniform(0, 2 * np.pi, n),
        el_rad=rng.uniform(0, 1.2, n), line=np.zeros(n, np.int64),
    )
    m = 7
    los = rng.normal(size=(m, 3))
    los /= np.linalg.norm(los, axis=1, keepdims=True)
    t_ir = 1.6e9 + np.sort(rng.uniform(0, 100, m))
    ir = IrDetections(t_ir, np.ones(m, np.int32), np.tile([4.2e7, 1e5, 0.0], (m, 1)), los, t_ir + 3.0,
                      np.zeros(m, np.int64))
    return MeasurementLog(list(sensors), radar, ir)


def test_measurements_round_trip(tmp_path, sensors):
    log = make_log(sensors)
    path = tmp_path / "m.jsonl"
    assert write_measurements(path, log) == 57
    times = [json.loads(line)["t"] for line in path.read_text().splitlines()]
    assert times == sorted(times)  # the file is sorted by t, radar and IR merged
    back = read_measurements(path, sensors, strict=True)
    assert back.skips.total == 0 and len(back) == 57
    np.testing.assert_allclose(back.radar.t_unix_s, log.radar.t_unix_s, atol=1e-6)
    np.testing.assert_allclose(back.radar.range_m, log.radar.range_m, atol=1e-3)
    np.testing.assert_allclose(back.radar.az_rad, log.radar.az_rad, atol=1e-8)
    np.testing.assert_allclose(back.radar.el_rad, log.radar.el_rad, atol=1e-8)
    np.testing.assert_allclose(back.ir.los_ecef, log.ir.los_ecef, atol=1e-9)
    np.testing.assert_allclose(back.ir.platform_ecef_m, log.ir.platform_ecef_m, atol=1e-3)
    np.testing.assert_allclose(back.ir.t_available_unix_s, log.ir.t_unix_s + 3.0, atol=1e-6)
    assert set(back.ir.sensor_idx.tolist()) == {1} and set(back.radar.sensor_idx.tolist()) == {0}
    assert np.all(back.radar.line >= 1)


def radar_line(t_s, **kw):
    d = {"t": t_s, "sensor": "kr-1", "range_m": 5e5, "az_deg": 10.0, "el_deg": 5.0} | kw
    return json.dumps({k: v for k, v in d.items() if v is not ...})


IR_OK = json.dumps({"t": 30.0, "sensor": "us-geo", "platform_ecef_m": [4.2e7, 0, 0], "los_ecef": [-1, 0, 0],
                    "t_available": 33.0})
BAD_LINES = [  # (line, reason, field)
    ("{not json", "malformed_json", None),
    ("[1, 2, 3]", "malformed_json", None),
    (radar_line(10.0, range_m=...), "missing_field", "range_m"),
    (radar_line(10.0, t=...), "missing_field", "t"),
    (radar_line(10.0, sensor=...), "missing_field", "sensor"),
    (radar_line(10.0, az_deg="east"), "malformed_field", "az_deg"),
    (radar_line(10.0, sensor="kr-9"), "unknown_sensor", "sensor"),
    (radar_line(10.0, el_deg=float("nan")), "nan", "el_deg"),
    (radar_line(10.0, range_m=float("inf")), "nan", "range_m"),
    (radar_line(10.0, range_m=-4.0), "impossible_value", "range_m"),
    (radar_line(10.0, el_deg=95.0), "impossible_value", "el_deg"),
    (radar_line(10.0, az_deg=800.0), "impossible_value", "az_deg"),
    (radar_line(1.0), "out_of_order", "t"),
    (json.dumps({"t": 10.0, "sensor": "us-geo", "los_ecef": [1, 0, 0]}), "missing_field", "platform_ecef_m"),
    (json.dumps({"t": 10.0, "sensor": "us-geo", "platform_ecef_m": [4.2e7, 0], "los_ecef": [1, 0, 0]}),
     "malformed_field", "platform_ecef_m"),
    (json.dumps({"t": 10.0, "sensor": "us-geo", "platform_ecef_m": [1e3, 0, 0], "los_ecef": [1, 0, 0]}),
     "impossible_value", "platform_ecef_m"),
    (json.dumps({"t": 10.0, "sensor": "us-geo", "platform_ecef_m": [4.2e7, 0, 0], "los_ecef": [2, 0, 0]}),
     "impossible_value", "los_ecef"),
    (json.dumps({"t": 10.0, "sensor": "us-geo", "platform_ecef_m": [4.2e7, 0, 0], "los_ecef": [1, 0, 0],
                 "t_available": 5.0}), "impossible_value", "t_available"),
]


@pytest.mark.parametrize(("bad", "reason", "field"), BAD_LINES)
def test_strict_reader_names_file_line_field(tmp_path, sensors, bad, reason, field):
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join([radar_line(9.0), radar_line(10.0), bad, radar_line(11.0)]) + "\n")
    with pytest.raises(InputError) as err:
        read_measurements(path, sensors, strict=True)
    assert err.value.source == str(path) and err.value.line == 3 and err.value.field == field
    assert f"{path}:3" in str(err.value)


@pytest.mark.parametrize(("bad", "reason", "field"), [b for b in BAD_LINES if b[1] != "out_of_order"])
def test_lenient_reader_skips_counts_and_keeps_good_lines(tmp_path, sensors, bad, reason, field):
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join([radar_line(9.0), radar_line(10.0), bad, radar_line(11.0), IR_OK]) + "\n")
    log = read_measurements(path, sensors)
    assert log.skips.total == 1 and log.skips.counts[reason] == 1
    assert log.radar.t_unix_s.tolist() == [9.0, 10.0, 11.0] and len(log.ir) == 1
    example = log.skips.examples[reason][0]
    assert example.startswith(f"{path}:3") and (field is None or field in example)
    assert str(path) in log.summary() and "skipped" in log.summary()


def test_lenient_counts_many_reasons_and_summary(tmp_path, sensors):
    lines = [radar_line(float(t)) for t in range(20, 40)]
    lines[3] = "garbage"
    lines[5] = radar_line(25.0, sensor="nobody")
    lines[7] = radar_line(27.0, sensor="nobody")
    lines[9] = radar_line(2.0)
    lines[11] = radar_line(31.0, el_deg=float("nan"))
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    log = read_measurements(path, sensors)
    assert log.skips.counts == {"malformed_json": 1, "missing_field": 0, "malformed_field": 0,
                                "unknown_sensor": 2, "nan": 1, "impossible_value": 0, "out_of_order": 0,
                                "duplicate": 0, "time_outlier": 0}
    assert len(log.radar) == 16 and log.skips.late == 1  # t=2.0, 18 s late: kept and re-sorted (issue 16)
    text = log.summary()
    assert "16 lines accepted, 4 skipped" in text and "unknown sensor: 2" in text
    assert "1 older than the reorder window" in text and f"{path}:10: t" in text
    assert f"{path}:6: sensor" in text and f"{path}:8: sensor" in text


def test_reorder_window(tmp_path, sensors):
    times = [10.0, 12.0, 11.0, 16.0, 12.5, 8.0, 17.0]  # 12.5 is 3.5 s late, 8.0 is 8 s late: both kept
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(radar_line(t) for t in times) + "\n")
    log = read_measurements(path, sensors, reorder_window_s=5.0)
    assert log.radar.t_unix_s.tolist() == [8.0, 10.0, 11.0, 12.0, 12.5, 16.0, 17.0]
    assert log.radar.line.tolist() == [6, 1, 3, 2, 5, 4, 7]
    assert log.skips.total == 0 and log.skips.late == 1 and log.skips.reordered == 2
    with pytest.raises(InputError) as err:
        read_measurements(path, sensors, strict=True, reorder_window_s=5.0)
    assert err.value.line == 6 and err.value.field == "t"
    narrow = read_measurements(path, sensors, reorder_window_s=0.0)
    assert narrow.skips.late == 3 and len(narrow.radar) == 7


def test_extra_fields_ignored_and_int_values(tmp_path, sensors):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"t": 5, "sensor": "kr-1", "range_m": 1000, "az_deg": -90, "el_deg": 3,
                                "snr_db": 14.2, "truth": "secret"}) + "\n")
    log = read_measurements(path, sensors, strict=True)
    assert log.radar.az_rad[0] == pytest.approx(1.5 * np.pi)


def test_unusable_measurement_files(tmp_path, sensors):
    with pytest.raises(InputError, match="not found"):
        read_measurements(tmp_path / "none.jsonl", sensors)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="empty"):
        read_measurements(empty, sensors)
    junk = tmp_path / "junk.jsonl"
    junk.write_text("junk\n" + radar_line(1.0, sensor="x") + "\n")
    with pytest.raises(InputError, match="no valid line") as err:
        read_measurements(junk, sensors)
    assert "malformed JSON: 1" in str(err.value) and "unknown sensor: 1" in str(err.value)
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    with pytest.raises(InputError, match="cannot read"):
        read_measurements(folder, sensors)


def make_truth() -> TruthLog:
    t = 1.6e9 + np.repeat(np.arange(5.0), 2)
    obj = np.tile(np.array([0, 1], np.int32), 5)
    rng = np.random.default_rng(1)
    return TruthLog(["L1/warhead", "L1/stage1"], t, obj, rng.normal(size=(10, 3)) * 1e6,
                    rng.normal(size=(10, 3)) * 1e3, np.array(["boost", "boost"] * 2 + ["ballistic"] * 6),
                    {"L1/warhead": "warhead", "L1/stage1": "stage"}, {"L1/warhead": "L1", "L1/stage1": "L1"})


def test_truth_round_trip(tmp_path):
    truth = make_truth()
    path = tmp_path / "truth.jsonl"
    assert write_truth(path, truth) == 10
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"t", "object", "ecef_m", "vel_ecef_mps", "kind", "phase", "launch"}
    back = read_truth(path)
    assert back.object_ids == truth.object_ids and back.kind == truth.kind and back.launch == truth.launch
    np.testing.assert_allclose(back.pos_ecef_m, truth.pos_ecef_m, atol=1e-3)
    np.testing.assert_allclose(back.vel_ecef_mps, truth.vel_ecef_mps, atol=1e-4)
    assert back.phase.tolist() == truth.phase.tolist()
    assert back.object_rows("L1/stage1").tolist() == [1, 3, 5, 7, 9]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"t": 1, "object": "a", "ecef_m": [1, 2, 3]}', "vel_ecef_mps"),
        ('{"t": 1, "object": "a", "ecef_m": [1, 2], "vel_ecef_mps": [1, 2, 3]}', "ecef_m"),
        ('{"t": NaN, "object": "a", "ecef_m": [1, 2, 3], "vel_ecef_mps": [1, 2, 3]}', "t"),
        ('{"t": 1, "object": "a", "ecef_m": ["x", 2, 3], "vel_ecef_mps": [1, 2, 3]}', "ecef_m"),
        ('{"t": 1, "object": "a", "ecef_m": [1, 2, 3], "vel_ecef_mps": [1, 2, 3]', None),
    ],
)
def test_truth_reader_errors(tmp_path, line, field):
    path = tmp_path / "truth.jsonl"
    path.write_text('{"t": 0, "object": "a", "ecef_m": [1, 2, 3], "vel_ecef_mps": [1, 2, 3], "x": 1}\n'
                    + line + "\n")
    with pytest.raises(InputError) as err:
        read_truth(path)
    assert err.value.line == 2 and err.value.field == field and err.value.source == str(path)


def test_chunked_writing_gives_the_same_files(tmp_path, sensors, monkeypatch):
    from triwarn.sensors import writers

    log = make_log(sensors)
    write_measurements(tmp_path / "whole.jsonl", log)
    write_truth(tmp_path / "whole_truth.jsonl", make_truth())
    monkeypatch.setattr(writers, "WRITE_CHUNK_ROWS", 4)
    write_measurements(tmp_path / "chunks.jsonl", log)
    write_truth(tmp_path / "chunks_truth.jsonl", make_truth())
    assert (tmp_path / "whole.jsonl").read_bytes() == (tmp_path / "chunks.jsonl").read_bytes()
    assert (tmp_path / "whole_truth.jsonl").read_bytes() == (tmp_path / "chunks_truth.jsonl").read_bytes()


def test_fast_and_line_by_line_paths_agree(tmp_path, sensors, monkeypatch):
    from triwarn.sensors import jsonl_blocks

    rng = np.random.default_rng(9)
    good = [radar_line(10.0 + 0.5 * k + rng.uniform(-3, 0), range_m=float(rng.uniform(1e5, 1e6)))
            for k in range(300)]
    for k in range(0, 300, 11):
        good[k] = IR_OK.replace("30.0", str(10.0 + 0.5 * k)).replace("33.0", str(14.0 + 0.5 * k))
    bad = [b for b, _, _ in BAD_LINES]
    lines = good[:]
    for k, b in enumerate(bad):
        lines.insert(17 * k + 5, b)
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n")
    whole = read_measurements(path, sensors)  # one chunk holding bad lines: line by line
    monkeypatch.setattr(jsonl_blocks, "READ_BLOCK_BYTES", 700)  # most ~7-line blocks are clean: the array path
    chunked = read_measurements(path, sensors)
    assert whole.skips.counts == chunked.skips.counts and whole.skips.reordered == chunked.skips.reordered
    for name in ("t_unix_s", "sensor_idx", "range_m", "az_rad", "el_rad", "line"):
        np.testing.assert_array_equal(getattr(whole.radar, name), getattr(chunked.radar, name))
    for name in ("t_unix_s", "platform_ecef_m", "los_ecef", "t_available_unix_s", "line"):
        np.testing.assert_array_equal(getattr(whole.ir, name), getattr(chunked.ir, name))
    assert len(whole.ir) == 28 and whole.skips.total >= len(bad) - 1


def test_block_reading_keeps_line_numbers_and_values(tmp_path, sensors, monkeypatch):
    # Blocks of a few lines: lines straddle block ends, a blank line and two objects on one line land
    # inside blocks; the result must be what one whole-file block gives, line numbers included.
    from triwarn.sensors import jsonl_blocks

    lines = [radar_line(10.0 + 0.5 * k, range_m=1e5 + k) for k in range(60)]
    lines.insert(23, "")
    lines.insert(41, radar_line(40.0) + " " + radar_line(40.0))  # two objects: one malformed line
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines))  # no final newline
    whole = read_measurements(path, sensors)
    monkeypatch.setattr(jsonl_blocks, "READ_BLOCK_BYTES", 150)
    blocks = read_measurements(path, sensors)
    assert blocks.skips.counts == whole.skips.counts and blocks.skips.counts["malformed_json"] == 1
    np.testing.assert_array_equal(blocks.radar.line, whole.radar.line)
    np.testing.assert_array_equal(blocks.radar.range_m, whole.radar.range_m)
    assert len(blocks) == 60 and blocks.radar.line[-1] == 62 and 24 not in blocks.radar.line.tolist()
    with pytest.raises(InputError) as err:
        read_measurements(path, sensors, strict=True)
    assert err.value.line == 42


def test_truth_blocks_agree_and_name_a_late_bad_line(tmp_path, monkeypatch):
    from triwarn.sensors import jsonl_blocks

    rng = np.random.default_rng(5)
    n = 400
    truth = TruthLog([f"L{i}/warhead" for i in range(7)], 1.6e9 + np.arange(n) * 0.5,
                     (np.arange(n) % 7).astype(np.int32), rng.normal(size=(n, 3)) * 1e6,
                     rng.normal(size=(n, 3)) * 1e3, np.array(["boost", "ballistic", ""] * 133 + ["boost"]),
                     {f"L{i}/warhead": "warhead" for i in range(7)}, {f"L{i}/warhead": f"L{i}" for i in range(7)})
    path = tmp_path / "truth.jsonl"
    write_truth(path, truth)
    whole = read_truth(path)
    monkeypatch.setattr(jsonl_blocks, "READ_BLOCK_BYTES", 1000)
    blocks = read_truth(path)
    assert blocks.object_ids == whole.object_ids and blocks.kind == whole.kind and blocks.launch == whole.launch
    for name in ("t_unix_s", "object_idx", "pos_ecef_m", "vel_ecef_mps", "phase"):
        np.testing.assert_array_equal(getattr(blocks, name), getattr(whole, name))
    text = path.read_text().splitlines()
    text[350] = text[350].replace('"ecef_m":[', '"ecef_m":[1.0,')
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError) as err:
        read_truth(path)
    assert err.value.line == 351 and err.value.field == "ecef_m"
