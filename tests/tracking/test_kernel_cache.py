"""The tracker's kernels compiled once and cached (tracking/kernel_cache.py): the warm-up compiles every
signature the tracker calls, a cold cache gets a notice, and an edit to a source numba does not watch
(physics/equations.py, the constants) clears the kernels' cache."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest

from triwarn.sensors.commands import run_simulate
from triwarn.tracking import kernel_cache
from triwarn.tracking.commands import run_track

SALVO = Path(__file__).parents[2] / "src/triwarn/scenarios/salvo-srbm-example.yaml"


def _signature_counts() -> dict[str, int]:
    return {f"{m}.{n}": len(kernel_cache._dispatcher(m, n).signatures) for m, n, _ in kernel_cache._signatures()}


def test_warm_up_compiles_every_signature_the_tracker_calls(tmp_path, capsys):
    kernel_cache.compile_kernels(progress=False)
    assert kernel_cache.kernels_cached()
    before = _signature_counts()
    assert all(n >= 1 for n in before.values()), before
    # A radar and infrared salvo through `triwarn track`: nothing may be compiled beyond the warm-up
    # (a signature missing from KERNELS would compile at the first detection, in silence).
    run_simulate(SALVO, tmp_path / "sim", seed=4)
    stats = run_track(tmp_path / "sim" / "sensors.yaml", tmp_path / "sim" / "measurements.jsonl",
                      tmp_path / "tracks.jsonl")
    assert stats["tracks_confirmed"] > 0
    assert _signature_counts() == before
    err = capsys.readouterr().err
    assert kernel_cache.NOTICE not in err  # warm: no notice
    assert "━" not in err  # no bar in captured output


def test_cold_kernels_get_the_notice_and_warm_ones_none(monkeypatch, capsys):
    @numba.njit(cache=False)
    def tiny(x):
        return x + 1.0

    sig = (numba.types.float64,)
    monkeypatch.setattr(kernel_cache, "_signatures", lambda: [("m", "tiny", sig)])
    monkeypatch.setattr(kernel_cache, "_dispatcher", lambda m, n: tiny)
    assert not kernel_cache.kernels_cached()
    kernel_cache.compile_kernels()
    assert kernel_cache.NOTICE in capsys.readouterr().err
    assert kernel_cache.kernels_cached() and tiny(1.0) == 2.0
    kernel_cache.compile_kernels()
    assert capsys.readouterr().err == ""
    # quiet: no notice even when cold
    tiny2 = numba.njit(cache=False)(lambda x: x * 2.0)
    monkeypatch.setattr(kernel_cache, "_dispatcher", lambda m, n: tiny2)
    kernel_cache.compile_kernels(quiet=True)
    assert capsys.readouterr().err == ""


def _fake_package(root: Path) -> None:
    for rel in kernel_cache.SOURCES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")


def test_an_edit_to_the_equations_clears_the_kernels_cache(tmp_path, monkeypatch):
    pkg, tcache, pcache = tmp_path / "pkg", tmp_path / "tracking-cache", tmp_path / "physics-cache"
    _fake_package(pkg)
    monkeypatch.setattr(kernel_cache, "_PKG", pkg)
    tcache.mkdir()
    pcache.mkdir()

    def cache_files() -> list[str]:
        for name in ("imm_ekf.imm_update_radar-426.py311.nbi", "imm_ekf.imm_update_radar-426.py311.1.nbc",
                     "deletion._lost-32.py311.nbi"):
            (tcache / name).write_bytes(b"x")
        (pcache / "equations.free_flight_accel-27.py311.nbi").write_bytes(b"x")
        return sorted(p.name for p in [*tcache.iterdir(), *pcache.iterdir()])

    (tcache / "imm_ekf.cpython-311.pyc").write_bytes(b"keep")
    (tcache / "other.f-1.py311.nbi").write_bytes(b"keep")  # not a kernel of SOURCES
    cache_files()
    # No stored hash: nothing is known about what the cache was compiled from, so it goes.
    assert kernel_cache.match_sources(tcache, pcache)
    left = sorted(p.name for p in [*tcache.iterdir(), *pcache.iterdir()])
    assert left == ["imm_ekf.cpython-311.pyc", kernel_cache.STAMP_NAME, "other.f-1.py311.nbi"]
    # Same sources: the cache compiled since is kept.
    filled = cache_files()
    assert not kernel_cache.match_sources(tcache, pcache)
    assert sorted(p.name for p in [*tcache.iterdir(), *pcache.iterdir()]) == filled
    # The equation edited (numba's own key would not see it): cleared again, the new hash stored.
    (pkg / "physics/equations.py").write_text("# edited\n")
    assert kernel_cache.match_sources(tcache, pcache)
    assert not list(tcache.glob("imm_ekf.*.nb*")) and not list(pcache.glob("*.nb*"))
    assert (tcache / kernel_cache.STAMP_NAME).read_text().strip() == kernel_cache.sources_hash()
    # A constant compiled in (geo/wgs84.py) counts too.
    cache_files()
    (pkg / "geo/wgs84.py").write_text("A_M = 1.0\n")
    assert kernel_cache.match_sources(tcache, pcache)


def test_the_real_sources_are_all_there():
    for rel in kernel_cache.SOURCES:
        assert (kernel_cache._PKG / rel).is_file(), rel
    assert len(kernel_cache.sources_hash()) == 64


@pytest.mark.parametrize("name", ["imm_update_radar", "dominant_predict"])
def test_the_warm_up_signatures_are_the_tracker_layouts(name):
    # dominant_predict and radar_gate_tracks take the boost probability as a strided column of mu.
    sig = dict(((n, s) for _m, n, s in kernel_cache._signatures()))[name]
    mu = np.zeros((4, 2))
    if name == "dominant_predict":
        assert sig[3] == numba.typeof(mu[:, 1])
    else:
        assert sig[2] == numba.typeof(mu)
