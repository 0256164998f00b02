"""Track-to-track fusion of the nations' tracks into one picture with stable system-track ids.

Roles: track (the records), predictor (time alignment through the flight model), associate (statistical
distance, gating, 2-D assignment), intersection (covariance intersection), mode (powered or ballistic:
the fused mode rule), fuser (the Fuser that runs them each step). See docs/assessment.md, docs/fusion.md.
"""
