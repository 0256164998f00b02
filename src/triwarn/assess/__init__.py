"""Assessment of system tracks: launch point, impact point with a 95% ellipse or a powered corridor,
areas at risk, and the trust flags that keep a separated piece's prediction its own.

Roles: flight (batched free flight to the ground), impact (cubature impact prediction), corridor
(powered flight), launch (Monte-Carlo back-propagation), areas (area risk from samples), events (the
output records), assessor (the Assessor that runs them each step), reader and commands (`triwarn
assess`). See docs/assessment.md.
"""
