"""Track-to-track fusion of the nations' tracks into one picture with stable system-track ids.

Roles: predictor (time alignment through the flight model), associate (statistical
distance, gating, 2-D assignment), intersection (covariance intersection), mode (powered or ballistic:
the fused mode rule), fuser (the Fuser that runs them each step). The track tables going in and out
are triwarn.records.tracks (NationalTracks, SystemTracks). See docs/assessment.md, docs/fusion.md.
"""
