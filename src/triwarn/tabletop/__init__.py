"""Tabletop exercises with people: a controller, one seat per nation, MSEL injects, decisions, the AAR/IP.

docs/tabletop.md explains the files, the session, the scripted mode and the nuclear-emergency scenario.
"""
