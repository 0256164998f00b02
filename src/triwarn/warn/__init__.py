"""triwarn.warn: public warnings from the assessment.

machine.py decides (the alert state machine, pure: records and a clock in, messages out) on top of
incident.py (incidents, tracks and their flight), geometry.py (passage over areas) and policy.py (the
thresholds and the issuer); reader.py is the file edge (event dicts checked into records, live and
exercise never mixed). cap.py writes and checks CAP 1.2 for the channels of each nation's profile
(profiles.py: IPAWS, Google, national codes; docs/alert-profiles.md), xmlsig.py signs and verifies it,
cot.py writes CoT and sends it to TAK servers,
feed.py writes the Atom feed, texts.py and area_names.py hold the words in English, Japanese and Korean,
commands.py runs the stage over recorded files. See docs/warnings.md.
"""
