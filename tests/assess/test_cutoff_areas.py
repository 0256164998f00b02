"""The cut-off path band's area probability (triwarn.assess.cutoff_areas): the chance that the laterally
uncertain path crosses an area, from a lateral Gaussian, not the share of the band's lines that touch it."""

import numpy as np
import pytest
from scipy.special import ndtr
from shapely.geometry import box

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.corridor import CUTOFF_LINES, cutoff_band
from triwarn.assess.cutoff_areas import CUTOFF_BAND_SIGMAS, band_risk, line_weights
from triwarn.warn.policy import WarnPolicy

M_PER_DEG = 6378137.0 * np.pi / 180.0  # along the equator


def test_line_weights_are_the_gaussian_masses_of_their_cells():
    w = line_weights(CUTOFF_LINES)
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w, w[::-1])
    assert np.argmax(w) == len(CUTOFF_LINES) // 2
    # The outermost line carries the tail beyond the mid-point to its neighbour: 0.875 half-widths,
    # 1.75 sigma; below the shelter threshold, so the band's edge alone does not shelter an area.
    assert w[-1] == pytest.approx(0.5 * (1.0 - 0.919882), abs=1e-4)
    assert w[-1] < WarnPolicy().on_probability
    # A three-line band with cells at +-0.5 half-widths (1 sigma): 0.1587, 0.6827, 0.1587.
    np.testing.assert_allclose(line_weights((-1.0, 0.0, 1.0), 2.0), [0.158655, 0.682689, 0.158655], atol=1e-5)


@pytest.mark.parametrize("lines", [(0.0, 0.0), (1.0, -1.0), ()])
def test_line_weights_refuse_lines_that_do_not_increase(lines):
    with pytest.raises(ValueError, match="lines must increase"):
        line_weights(lines)


def _band(sigma_az_rad=0.0):
    """A cut-off path due east along the equator, points every 10 km for 1,000 km, 1 s apart."""
    lon = np.arange(101) * 10e3 / M_PER_DEG
    lat = np.zeros_like(lon)
    valid = np.ones((lon.size, 1), bool)
    b_lat, b_lon, half = cutoff_band(lat[:, None], lon[:, None], valid, [sigma_az_rad])
    t = 1_700_000_000.0 + np.arange(lon.size, dtype=float)[:, None]
    return b_lat, b_lon, t, valid, half[:, 0]


def _north_strip(lat0_m, lat1_m, lon0_km=400.0, lon1_km=500.0):
    """An area (land) north of the path (left of its course) from lat0_m to lat1_m off it."""
    return {"land": box(lon0_km * 1e3 / M_PER_DEG, lat0_m / M_PER_DEG, lon1_km * 1e3 / M_PER_DEG,
                        lat1_m / M_PER_DEG)}


def test_an_area_only_the_bands_edge_reaches_is_below_the_shelter_threshold_one_the_path_crosses_is_certain():
    b_lat, b_lon, t, valid, half = _band()
    h = float(half[45])  # at 450 km, the strip's middle
    assert h == pytest.approx(20e3 + 450e3 * np.tan(np.radians(1.0)), rel=1e-3)
    areas = PolygonAreas({
        "JP-01": _north_strip(-3 * h, 3 * h, 365.0, 395.0),  # across the whole band
        "JP-02": _north_strip(0.9 * h, 3 * h, 420.0, 440.0),  # only the edge line (1.0) reaches it
        "JP-03": _north_strip(0.6 * h, 3 * h, 460.0, 480.0),  # the lines at 0.75 and 1.0
        "JP-04": _north_strip(1.1 * h, 3 * h, 500.0, 520.0),  # outside the band
    })
    hits = {(x.area, x.kind): x for x in band_risk(areas, b_lat, b_lon, t, valid, CUTOFF_LINES)}
    on = WarnPolicy().on_probability
    assert hits[("JP-01", "overflight")].probability > 0.95
    assert hits[("JP-01", "overflight")].enter_time_unix_s == pytest.approx(t[37, 0], abs=1.5)
    edge = hits[("JP-02", "overflight")].probability
    assert 0.0 < edge < on  # before: 1 of 5 lines, 0.2
    assert hits[("JP-03", "overflight")].probability > on  # 1.25 sigma in: a real chance
    # P(offset beyond the cell edge between the lines 0.5 and 0.75), 1-sigma = half-width / CUTOFF_BAND_SIGMAS.
    assert hits[("JP-03", "overflight")].probability == pytest.approx(1.0 - ndtr(0.625 * CUTOFF_BAND_SIGMAS), abs=1e-9)
    assert ("JP-04", "overflight") not in hits


def test_the_bands_end_weights_the_cut_off_impact_the_same_way():
    b_lat, b_lon, t, valid, half = _band(np.radians(0.5))
    h = float(half[-1])
    end_km = 1000.0
    areas = PolygonAreas({"JP-05": {"land": box((end_km - 20) * 1e3 / M_PER_DEG, 0.9 * h / M_PER_DEG,
                                                (end_km + 20) * 1e3 / M_PER_DEG, 3 * h / M_PER_DEG)},
                          "JP-06": {"land": box((end_km - 20) * 1e3 / M_PER_DEG, -30e3 / M_PER_DEG,
                                                (end_km + 20) * 1e3 / M_PER_DEG, 30e3 / M_PER_DEG)}})
    hits = {(x.area, x.kind): x for x in band_risk(areas, b_lat, b_lon, t, valid, CUTOFF_LINES)}
    assert hits[("JP-05", "impact")].probability == pytest.approx(line_weights(CUTOFF_LINES)[-1], abs=1e-9)
    assert hits[("JP-06", "impact")].probability == pytest.approx(2 * ndtr(1.25) - 1, abs=1e-9)  # +-30 km: 5 lines
    assert hits[("JP-06", "impact")].enter_time_unix_s == t[-1, 0]
