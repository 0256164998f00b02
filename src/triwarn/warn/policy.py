"""Who issues warnings and by what rules: the policy (thresholds, timings, trust) and the issuer (sender,
live or exercise), and the run ids that keep identifiers unique across restarts."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from triwarn.errors import InputError
from triwarn.geo.hazard_zones import HazardNotice
from triwarn.records.events import TRUSTED_QUALITY


@dataclass(frozen=True)
class WarnPolicy:
    """Thresholds and timings. Probabilities in [0, 1], times in seconds, distances in metres.

    - on/off_probability: an area is sheltered at on and let go below off (hysteresis), and not before
      min_hold_s nor before it has stayed below off for off_hold_s (an area the ground track only
      clips drops out of single assessment cycles); notice_on_probability: EEZ-only impact notice.
    - adjacency maps an area code to the codes of its neighbours; with alert_adjacent they are sheltered
      together with it (Japan's practice since 2023, about a minute earlier for the neighbours).
    - expires_s: each message's lifetime; refresh_s: a standing warning is re-issued this often.
    - lost_after_s: a track with no evidence for this long is lost (the tracker says nothing when it
      drops one). landed_alt_m: seen this low, it has landed; lost below lost_low_alt_m within
      lost_late_s of its predicted impact, it has landed too. impact_margin_s: after the predicted
      impact time plus this, nothing of that track can still be flying; when the prediction gives the
      time's 1-sigma, 4 sigma (at least impact_margin_min_s) if that is shorter.
    - pass_margin_m: how far behind the object the whole area must be for "passed"; beyond_margin_m:
      for the all-clear of a passed area.
    - short_track_s: a track seen for less is "short" (a candidate for a separated-piece error).
    - continue_m, continue_dt_s: a lost track is continued by a live one of its incident seen within
      continue_dt_s after it, within continue_m of where the lost one was heading (one object, two tracks).
      match_impact_m, match_impact_s: or, after any gap, by a live one whose newer ballistic prediction
      gives the same impact as the lost one's last (points within match_impact_m, times within
      match_impact_s, both ellipses' semi-major axes within match_impact_m): the same ballistic
      trajectory, picked up again by other radars after a gap in cover.
    - Trust (docs/warnings.md): an area risk counts only if its quality is at least min_quality (the
      assessment discounts short tracks and implausible states below TRUSTED_QUALITY), it does not come from a
      boosting object's corridor (unless warn_powered: a corridor bounds where the object can land, all
      along its azimuth, it does not say where it will), and it is not a separated piece's overflight
      (unless separated_overflight: a spent stage must not inherit the warhead's path; where it falls
      on land or territorial sea still counts, a falling stage is a hazard of its own).
      trust_cutoff_path: a boosting object's cut-off path (flag cutoff_path: the ground track from the
      object to its cut-off-now impact, which it overflies whatever its motor does next) is trusted,
      the rest of its corridor is not. An area put at risk by a track's cut-off path stays at risk from
      that track until the track is seen past it (or its flight is over): a later prediction that leaves
      it out (the ballistic one that takes over at burnout, sampled along the path) does not let it go.
      The EEZ part of a cut-off impact is not acted on (the object lands there only if its motor stops
      now; the notice waits for the ballistic prediction).
    - hazard_notice: the declared hazard zones of a notified launch (geo.hazard_zones; a node's
      NodeSettings.hazard_notice). With it, falls at sea are told per falling object (warn.fall_notice),
      each checked against the zones, instead of per area; fall_notice_within_m: how far from the
      issuer's land and territorial sea a fall at sea gets a notice (its EEZ, at most 370 km, and the
      sea next to it); fall_notice_moved_m: a piece's notice is updated when its point moves this far (or
      its zone verdict changes). A separated piece's fall on land shelters only from a track seen for
      short_track_s and not flagged short (2023-04-13: a short track of a piece alerted Hokkaido).
    - boost_alert_probability: the authority's threshold for the probabilistic boost-phase layer
      (assess.boost_risk, area risks flagged boost_risk): such a risk counts when its probability is at
      least this. None (the default): the layer informs (picture, report) and does not alert; the
      measured trade is in docs/warnings.md (0.9 there: +5 s p10 lead, 2 more sea falls with a false alert).
    - defer_beyond_s, defer_below_probability: a ballistic prediction (not the boost layer's) whose area is
      entered more than defer_beyond_s ahead and whose probability is below defer_below_probability does not
      yet shelter an area that is not already sheltered (a cut-off path's area entered that far ahead waits
      at any probability: its end comes from a boost track that lags or overshoots, not a calibrated
      impact, and a ballistic prediction follows within ~10 s of thrust end; flight 223 of bench_mc,
      a lofted ICBM, sheltered JP-01 at 0.96 from the own-view floor 40 min before a fall at sea): its ellipse
      will shrink long before a warning is due (a lofted ICBM falls 40-70 min after burnout; 30 s after
      it, an ellipse's 1-sigma of 8-15 km still reaches a coast its fall misses by 4-15 km, and that
      sheltered Japanese prefectures at 6-54 % on 6 of the 144 sea falls of bench/bench_mc.py's family,
      docs/warnings.md). 10 minutes ahead is still above the family's 10th-percentile lead (~310 s).
      None: never deferred.
    - decisive_letgo, letgo_path_margin_m: a shelter order put on by powered risks only (the boost layer,
      a cut-off path's band) is let go at once, without min_hold_s and off_hold_s, when every track of it
      is ballistic (thrust ended) and its ballistic prediction leaves the area below off_probability with
      the ground path from the object to the predicted fall, extended by the ellipse's semi-major axis,
      at least letgo_path_margin_m from the area; a lost track only if last seen over the sea
      (warn.letgo); a cut-off path's hold goes only when the fall is short of the area along the course.
      A Cancel when nothing else of the incident stands, else the area's all-clear, each with a note
      saying why. 20 km: at 50 km one wrong alert waited 16 s after thrust end for the settling fall to
      move from 31 to 58 km off the area; at 20 km, on 150 flights of bench/bench_mc.py's family, no flaps
      and no lead lost (docs/warnings.md, "Correction after thrust end"). Off by default: on all 300
      flights it let areas go that were sheltered again within 120 s on 2 flights (flight 156, an MRBM: 4
      such flaps, floor only and at 0.9; flight 255, an IRBM: 2 at 0.9), against 0 without it; an
      all-clear retracted within two minutes costs more trust than a correction 60 s later. A nation that
      sets boost_alert_probability may turn it on (wrong layer alerts then corrected p50 10 s after the
      evidence instead of 60 s).
    """

    on_probability: float = 0.05
    off_probability: float = 0.01
    notice_on_probability: float = 0.05
    min_hold_s: float = 60.0
    off_hold_s: float = 30.0
    alert_adjacent: bool = False
    adjacency: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    expires_s: float = 1800.0
    refresh_s: float = 600.0
    lost_after_s: float = 10.0
    landed_alt_m: float = 1000.0
    lost_low_alt_m: float = 50_000.0
    lost_late_s: float = 90.0
    impact_margin_s: float = 120.0
    impact_margin_min_s: float = 15.0
    pass_margin_m: float = 10_000.0
    beyond_margin_m: float = 300_000.0
    short_track_s: float = 90.0
    continue_m: float = 30_000.0
    continue_dt_s: float = 30.0
    match_impact_m: float = 30_000.0
    match_impact_s: float = 15.0
    min_quality: float = TRUSTED_QUALITY
    warn_powered: bool = False
    separated_overflight: bool = False
    trust_cutoff_path: bool = True
    hazard_notice: HazardNotice | None = None
    fall_notice_within_m: float = 600_000.0
    fall_notice_moved_m: float = 50_000.0
    boost_alert_probability: float | None = None
    defer_beyond_s: float | None = 600.0
    defer_below_probability: float = 0.9
    decisive_letgo: bool = False
    letgo_path_margin_m: float = 20_000.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.off_probability < self.on_probability <= 1.0:
            raise InputError("need 0 <= off_probability < on_probability <= 1", field="off_probability")
        if self.boost_alert_probability is not None and not 0.0 < self.boost_alert_probability <= 1.0:
            raise InputError("boost_alert_probability must be in (0, 1] or None", field="boost_alert_probability")
        if not 0.0 < self.fall_notice_within_m <= 2_000_000.0:
            raise InputError("fall_notice_within_m must be in (0, 2,000 km]", field="fall_notice_within_m")
        if self.defer_beyond_s is not None and not 0.0 <= self.defer_beyond_s <= 7200.0:
            raise InputError("defer_beyond_s must be in [0, 7,200] s or None", field="defer_beyond_s")
        if not self.on_probability <= self.defer_below_probability <= 1.0:
            raise InputError("defer_below_probability must be in [on_probability, 1]",
                             field="defer_below_probability")
        if not 0.0 <= self.letgo_path_margin_m <= 1_000_000.0:
            raise InputError("letgo_path_margin_m must be in [0, 1,000 km]", field="letgo_path_margin_m")
        if self.refresh_s >= self.expires_s:
            raise InputError("refresh_s must be shorter than expires_s", field="refresh_s")


@dataclass(frozen=True)
class Issuer:
    """Who issues: the CAP sender and whether it is live.

    A live issuer issues `Actual` messages and refuses exercise input; an exercise issuer issues
    `Exercise` messages for exactly one named exercise and refuses everything else. Nothing else
    decides between the two. `admit` is called per line at the file edge (triwarn.warn.reader) and by
    WarningMachine.cancel; a node's records carry no mode (its issuer is built from its settings).
    """

    sender: str
    live: bool = False
    exercise: str | None = None

    def __post_init__(self) -> None:
        if not self.sender or any(c in self.sender for c in " ,<&\t\n"):
            raise InputError(
                f"sender {self.sender!r} must be non-empty, without spaces, commas, < or &", field="sender"
            )
        if self.live and self.exercise is not None:
            raise InputError("a live issuer cannot have an exercise name", field="exercise")
        if not self.live and not (self.exercise and self.exercise.strip()):
            raise InputError("an exercise issuer needs the exercise name", field="exercise")

    def admit(self, exercise: str | None, *, source: str | None = None, line: int | None = None) -> None:
        """Refuse input of the other mode: live vs exercise are never mixed."""
        if self.live and exercise is not None:
            raise InputError(
                f"live issuer {self.sender} refuses exercise input ({exercise!r})",
                source=source,
                line=line,
                field="exercise",
            )
        if not self.live and exercise != self.exercise:
            what = "live input" if exercise is None else f"input of exercise {exercise!r}"
            raise InputError(
                f"exercise issuer for {self.exercise!r} refuses {what}",
                source=source,
                line=line,
                field="exercise",
            )


def new_run_id(t_unix_s: float, entropy: bytes) -> str:
    """A run id for identifiers: the start time (UTC, to the second) plus 4 random bytes in hex.

    The caller at the edge passes the clock and os.urandom(4); two runs never share one in practice.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t_unix_s))
    return f"{stamp}-{entropy.hex()}"


__all__ = ["Issuer", "WarnPolicy", "new_run_id"]
