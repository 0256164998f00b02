"""triwarn.warn: public warnings from the assessment.

state.py decides (incidents and the alert state machine, pure), cap.py writes and checks CAP 1.2,
cot.py writes CoT and sends it to TAK servers, feed.py writes the Atom feed, texts.py and area_names.py
hold the words in English, Japanese and Korean, commands.py runs the stage over recorded files.
See docs/warnings.md.
"""
