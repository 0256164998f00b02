"""The Atom feed (RFC 4287) of a node's issued CAP messages, newest first.

Each entry carries one CAP document inline: `<content type="application/cap+xml">` holds the `<alert>`
element itself (RFC 4287 section 4.1.3.3: XML media types are embedded as XML, not escaped), and a
link to the document's own URL for readers that fetch it. Entry ids are tag URIs (RFC 4151) made from
the sender and the CAP identifier, so they are as unique and as permanent as the identifiers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"


@dataclass(frozen=True)
class FeedEntry:
    """One issued CAP message as the feed shows it: its document and where it can be fetched."""

    cap_xml: bytes
    url: str | None = None


def atom_time(t_unix_s: float) -> str:
    """RFC 3339 UTC with Z, whole seconds (Atom's date construct)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t_unix_s // 1)))


def _tag_uri(authority_date: str, specific: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-._~:@" else "_" for c in specific)
    return f"tag:{authority_date}:{safe}"


def atom_feed(
    entries: Iterable[FeedEntry],
    *,
    feed_id: str,
    title: str,
    self_url: str,
    author: str = "triwarn",
    now_unix_s: float | None = None,
    tag_authority: str = "triwarn.org,2026",
) -> bytes:
    """The feed document. entries may come in any order; they are written newest (by CAP sent) first.

    feed_id is the feed's permanent IRI; self_url the URL it is served at. `updated` is the newest
    entry's time, or now_unix_s for an empty feed.
    """
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    parsed = []
    for entry in entries:
        alert = etree.fromstring(entry.cap_xml, etree.XMLParser(resolve_entities=False, no_network=True))
        sent = alert.findtext("c:sent", namespaces=ns)
        sent_s = _cap_seconds(sent)
        parsed.append((sent_s, alert, entry))
    # Newest first; messages sent in the same second by identifier (a thread's sequence number), the
    # last issued first.
    parsed.sort(key=lambda p: (p[0], p[1].findtext("c:identifier", namespaces=ns) or ""), reverse=True)
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    etree.SubElement(feed, f"{{{ATOM_NS}}}id").text = feed_id
    etree.SubElement(feed, f"{{{ATOM_NS}}}title").text = title
    newest = parsed[0][0] if parsed else (now_unix_s if now_unix_s is not None else 0.0)
    etree.SubElement(feed, f"{{{ATOM_NS}}}updated").text = atom_time(newest)
    name_el = etree.SubElement(etree.SubElement(feed, f"{{{ATOM_NS}}}author"), f"{{{ATOM_NS}}}name")
    name_el.text = author
    link = etree.SubElement(feed, f"{{{ATOM_NS}}}link")
    link.set("rel", "self")
    link.set("type", "application/atom+xml")
    link.set("href", self_url)
    for sent_s, alert, entry in parsed:
        identifier = alert.findtext("c:identifier", namespaces=ns)
        sender = alert.findtext("c:sender", namespaces=ns)
        en = next(
            (i for i in alert.findall("c:info", ns) if i.findtext("c:language", namespaces=ns) == "en-US"),
            None,
        )
        headline = None if en is None else en.findtext("c:headline", namespaces=ns)
        status = alert.findtext("c:status", namespaces=ns)
        msg_type = alert.findtext("c:msgType", namespaces=ns)
        item = etree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        etree.SubElement(item, f"{{{ATOM_NS}}}id").text = _tag_uri(tag_authority, f"{sender}:{identifier}")
        etree.SubElement(item, f"{{{ATOM_NS}}}title").text = headline or f"{msg_type} {identifier}"
        etree.SubElement(item, f"{{{ATOM_NS}}}updated").text = atom_time(sent_s)
        etree.SubElement(item, f"{{{ATOM_NS}}}published").text = atom_time(sent_s)
        etree.SubElement(
            item, f"{{{ATOM_NS}}}summary"
        ).text = f"{status} {msg_type}: {headline or identifier}"
        if entry.url:
            alt = etree.SubElement(item, f"{{{ATOM_NS}}}link")
            alt.set("rel", "alternate")
            alt.set("type", CAP_MEDIA_TYPE)
            alt.set("href", entry.url)
        content = etree.SubElement(item, f"{{{ATOM_NS}}}content")
        content.set("type", CAP_MEDIA_TYPE)
        content.append(alert)
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _cap_seconds(text: str | None) -> float:
    from datetime import datetime

    if not text:
        raise ValueError("CAP document without <sent>")
    return datetime.fromisoformat(text).timestamp()


__all__ = ["ATOM_NS", "CAP_MEDIA_TYPE", "FeedEntry", "atom_feed", "atom_time"]
