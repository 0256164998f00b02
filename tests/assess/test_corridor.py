import numpy as np

from triwarn.assess.corridor import densify, predict_corridors
from triwarn.geo import geodesic


def _distance_to_polyline_m(lat, lon, line_lat, line_lon):
    # Densified corridor points are ~tens of km apart; the nearest one bounds the distance closely.
    d, _ = geodesic.inverse(lat, lon, line_lat, line_lon)
    return float(np.min(d))


def test_corridor_while_powered_contains_the_true_impact_along_the_azimuth(irbm, lofted_icbm):
    for truth in (irbm, lofted_icbm):
        t_s = 0.5 * truth.burnout_t_s
        s = truth.boost_state(round(t_s))
        cor = predict_corridors([t_s], s[None, :3], s[None, 3:])
        assert cor.node_ok[0, 0]
        lat, lon, valid = densify(cor.node_lat_deg, cor.node_lon_deg, cor.node_ok, per_segment=32)
        gap = _distance_to_polyline_m(truth.impact_lat_deg, truth.impact_lon_deg, lat[0, valid[0]],
                                      lon[0, valid[0]])
        assert gap < cor.half_width_m[0], (gap, cor.half_width_m[0])
        # Cut-off now lands short of the truth; the corridor reaches beyond it.
        rng_true, _ = geodesic.inverse(truth.launch_lat_deg, truth.launch_lon_deg, truth.impact_lat_deg,
                                       truth.impact_lon_deg)
        rng_nodes, _ = geodesic.inverse(truth.launch_lat_deg, truth.launch_lon_deg, cor.node_lat_deg[0],
                                        cor.node_lon_deg[0])
        assert rng_nodes[0] < rng_true < rng_nodes[cor.node_ok[0]].max()


def test_corridor_of_a_burnt_out_state_collapses_to_its_impact_point(irbm):
    # At the speed cap there is no speed left to gain: every node is the cut-off impact.
    s = irbm.free_state(irbm.burnout_t_s + 10.0)
    speed = float(np.linalg.norm(s[3:]))
    cor = predict_corridors([0.0], s[None, :3], s[None, 3:], max_speed_mps=speed)
    d, _ = geodesic.inverse(irbm.impact_lat_deg, irbm.impact_lon_deg, cor.node_lat_deg[0],
                            cor.node_lon_deg[0])
    assert np.all(d < 2e3)
    assert cor.length_m[0] < 1.0
