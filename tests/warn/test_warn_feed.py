"""The Atom feed of issued CAP messages."""

from __future__ import annotations

import random

from lxml import etree
from warn_fixtures import T0, overflight_timeline, run

from triwarn.warn.cap import CAP_NS, to_cap, validate_cap
from triwarn.warn.feed import ATOM_NS, FeedEntry, atom_feed

NS = {"a": ATOM_NS, "c": CAP_NS}


def test_feed_lists_every_message_newest_first_with_the_cap_inline(exercise_machine):
    msgs = [m for _t, m in run(exercise_machine(), overflight_timeline(), T0, T0 + 1000)]
    entries = [FeedEntry(to_cap(m), url=f"http://127.0.0.1/cap/{m.identifier}.xml") for m in msgs]
    shuffled = entries[:]
    random.Random(4).shuffle(shuffled)
    xml = atom_feed(
        shuffled,
        feed_id="tag:triwarn.org,2026:jp-node:cap",
        title="triwarn JP node warnings",
        self_url="http://127.0.0.1/cap/feed.atom",
    )
    feed = etree.fromstring(xml)
    assert feed.tag == f"{{{ATOM_NS}}}feed"
    for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
        assert feed.find(required, NS) is not None, required
    items = feed.findall("a:entry", NS)
    assert len(items) == len(msgs)
    alerts = [i.find("a:content/c:alert", NS) for i in items]
    sent = [a.findtext("c:sent", namespaces=NS) for a in alerts]
    assert sent == sorted(sent, reverse=True)
    idents = [a.findtext("c:identifier", namespaces=NS) for a in alerts]
    assert idents == [m.identifier for m in reversed(msgs)]
    ids = [i.findtext("a:id", namespaces=NS) for i in items]
    assert len(set(ids)) == len(ids) and all(i.startswith("tag:") for i in ids)
    assert feed.findtext("a:updated", namespaces=NS) == items[0].findtext("a:updated", namespaces=NS)
    for item, alert in zip(items, alerts, strict=True):
        assert item.find("a:content", NS).get("type") == "application/cap+xml"
        assert item.find("a:link[@rel='alternate']", NS).get("type") == "application/cap+xml"
        assert item.findtext("a:title", namespaces=NS).startswith("EXERCISE")
        # The embedded alert is the issued document, still valid on its own.
        assert validate_cap(etree.tostring(alert)) == []


def test_an_empty_feed_is_still_a_valid_feed():
    feed = etree.fromstring(
        atom_feed([], feed_id="urn:x", title="t", self_url="http://127.0.0.1/f", now_unix_s=T0)
    )
    assert feed.findtext("a:updated", namespaces=NS) == "2022-10-03T22:22:00Z"
    assert feed.findall("a:entry", NS) == []
