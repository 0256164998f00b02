"""Issue 16: hypothesis fuzz of every file reader. Whatever the bytes, a reader answers with its result
(bad lines counted as skips) or an InputError naming the file: never another exception."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triwarn.errors import InputError
from triwarn.sensors.definitions import IrSensor, RadarSensor, load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.warn.policy import Issuer
from triwarn.warn.reader import read_events, read_jsonl

from .corpus import GEO, RADAR, T0, radar_line

SENSORS = {"kr-1": RadarSensor(**RADAR), "us-geo": IrSensor(**GEO)}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=12)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20))


def _dump(obj) -> str:
    return json.dumps(obj, allow_nan=True)


radar_records = st.fixed_dictionaries(
    {"t": st.one_of(numbers, values), "sensor": st.sampled_from(["kr-1", "us-geo", "x", 3]),
     "range_m": numbers, "az_deg": numbers, "el_deg": numbers},
    optional={"platform_ecef_m": st.lists(numbers, max_size=4), "los_ecef": st.lists(numbers, max_size=4),
              "t_available": numbers})
lines = st.one_of(radar_records.map(_dump), values.map(_dump), st.text(max_size=60),
                  st.sampled_from([radar_line(T0 + k) for k in range(5)]))


@FUZZ
@given(body=st.lists(lines, max_size=25), strict=st.booleans())
def test_measurement_reader_never_raises_other_than_input_error(tmp_path, body, strict):
    path = tmp_path / "m.jsonl"
    path.write_bytes("\n".join(body).encode("utf-8", "surrogatepass"))
    try:
        log = read_measurements(path, SENSORS, strict=strict)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert len(log) > 0 and log.skips.total >= 0
    assert all(math.isfinite(t) for t in log.radar.t_unix_s.tolist())
    assert list(log.radar.t_unix_s) == sorted(log.radar.t_unix_s)


sensor_entries = st.one_of(
    st.fixed_dictionaries({k: st.one_of(st.just(v), values) for k, v in RADAR.items()}),
    st.fixed_dictionaries({k: st.one_of(st.just(v), values) for k, v in GEO.items()}),
    values,
)


@FUZZ
@given(data=st.one_of(st.fixed_dictionaries({"sensors": st.lists(sensor_entries, max_size=3)}), values),
       raw=st.one_of(st.none(), st.text(max_size=80)))
def test_sensors_reader_never_raises_other_than_input_error(tmp_path, data, raw):
    import yaml

    path = tmp_path / "s.yaml"
    text = raw if raw is not None else yaml.safe_dump(data)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        sensors = load_sensors(path)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert all(isinstance(s, RadarSensor | IrSensor) for s in sensors.values())


event_records = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["launch", "impact_prediction", "area_risk", "track"]), values),
     "t": st.one_of(numbers, values)},
    optional={k: st.one_of(numbers, values, st.sampled_from(["JP-02", "impact", "lost", "warhead"]))
              for k in ("launch_id", "lat_deg", "lon_deg", "semi_major_m", "semi_minor_m", "area", "kind",
                        "status", "object", "flags", "quality", "probability", "exercise", "track")})


@FUZZ
@given(body=st.lists(st.one_of(event_records.map(_dump), values.map(_dump), st.text(max_size=40)), max_size=8))
def test_events_reader_never_raises_other_than_input_error(tmp_path, body):
    path = tmp_path / "events.jsonl"
    path.write_bytes("\n".join(body).encode("utf-8", "surrogatepass"))
    issuer = Issuer("triwarn.test", exercise="FUZZ")
    try:
        rows = read_jsonl(path)
        read_events((rec for _, rec in rows), issuer, source=str(path))
    except InputError:
        return
