"""The receiving side's pure core: decide whether a received message is accepted, and why not.

Checks, in order (the first failure is the reason):

==================  ==========================================================================
malformed           not valid JSON for the schema (wrong types, missing or unknown fields,
                    unsupported schema version)
subject_mismatch    the NATS subject (tw.<from>.<to>.<class>) disagrees with the message's
                    sender or class, or is not addressed to this nation
out_of_policy       the network's release policy does not release this class from the sender
                    to this nation
unsigned            no signature
unknown_sender      no public key for the sender in the trust store
bad_signature       the signature does not verify: forged (signed with another key) or altered
                    after signing; the two cannot be told apart, so they share one reason
from_future         sent more than `future_skew_s` ahead of the receiver's clock
stale               sent more than `max_age_s` before the receiver's clock
duplicate           a message id already accepted (store-and-forward may deliver twice: normal)
replayed            a sequence number not above the highest already accepted from that sender
==================  ==========================================================================

A rejected message changes nothing but its counter: whatever was accepted before stays accepted.
The clock is a parameter (`now_unix_s`, UTC seconds), so exercises on a simulated clock and tests run
this same code.

Time window: `max_age_s` (default 900 s) is long on purpose: store-and-forward delivers messages held
through an outage of minutes, and they must still be accepted; replay protection rests on the
per-sender sequence number, the window bounds what a replay could reach after the receiver loses its
state. `future_skew_s` (default 5 s) tolerates receivers' clocks a few seconds apart.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

import msgspec

from triwarn.share import signing
from triwarn.share.policy import NetworkSpec
from triwarn.share.schema import Message, decode, message_class

log = logging.getLogger(__name__)

REJECT_REASONS = ("malformed", "subject_mismatch", "out_of_policy", "unsigned", "unknown_sender",
                  "bad_signature", "from_future", "stale", "duplicate", "replayed")


@dataclass(frozen=True)
class Verdict:
    """msg is the accepted message (None when rejected); reason one of REJECT_REASONS or None."""

    msg: Message | None
    reason: str | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.reason is None


@dataclass
class Admission:
    """Receiving-side state of one nation: highest sequence accepted per sender, recent message ids and
    counters (`counters["accepted"]` and one per reject reason)."""

    nation: str
    spec: NetworkSpec
    trust: signing.TrustStore
    future_skew_s: float = 5.0
    max_age_s: float = 900.0
    remember_ids: int = 100_000
    last_seq: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("accepted", *REJECT_REASONS), 0))
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _restoring: bool = False

    def _reject(self, reason: str, detail: str, msg: Message | None = None) -> Verdict:
        self.counters[reason] += 1
        if reason != "duplicate" and not self._restoring:
            log.warning("%s rejected a message: %s: %s", self.nation, reason, detail)
        return Verdict(msg=None, reason=reason, detail=detail)

    def admit(self, data: bytes, subject: str | None, now_unix_s: float) -> Verdict:
        """Check one received message (raw bytes and the subject it came on; None skips the subject
        check, for messages read from a file) against the receiver's clock now_unix_s (UTC s)."""
        return self._check(data, subject, now_unix_s)

    def restore(self, data: bytes, subject: str | None) -> bool:
        """Re-learn the state (sequence, id) of a message accepted before a restart, without the time
        window and without counting; True if it was a valid message."""
        saved = dict(self.counters)
        self._restoring = True
        try:
            return self._check(data, subject, None).accepted
        finally:
            self.counters = saved
            self._restoring = False

    def _check(self, data: bytes, subject: str | None, now_unix_s: float | None) -> Verdict:
        """All checks; now_unix_s None skips the time window (restoring state only)."""
        try:
            msg = decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return self._reject("malformed", str(exc))
        msg_class = message_class(msg)
        if subject is not None:
            parts = subject.split(".")
            if (len(parts) != 4 or parts[0] != "tw" or parts[1] != msg.sender or parts[2] != self.nation
                    or parts[3] != msg_class):
                return self._reject("subject_mismatch", f"{msg_class} from {msg.sender} came on {subject}")
        if msg.sender == self.nation or not self.spec.allows(msg.sender, self.nation, msg_class):
            return self._reject("out_of_policy",
                                f"{msg.sender} does not release {msg_class} to {self.nation}")
        if not msg.sig:
            return self._reject("unsigned", f"{msg_class} {msg.msg_id} from {msg.sender}")
        key = self.trust.get(msg.sender)
        if key is None:
            return self._reject("unknown_sender", f"no public key for {msg.sender!r}")
        if not signing.verify_wire(data, msg, key):
            return self._reject("bad_signature",
                                f"{msg_class} {msg.msg_id} from {msg.sender} seq {msg.seq}")
        ahead_s = 0.0 if now_unix_s is None else msg.sent_unix_s - now_unix_s
        if ahead_s > self.future_skew_s:
            return self._reject("from_future", f"sent {ahead_s:.3f} s ahead of this clock "
                                f"(tolerance {self.future_skew_s} s): check the clocks")
        if -ahead_s > self.max_age_s:
            return self._reject("stale", f"sent {-ahead_s:.1f} s ago (limit {self.max_age_s} s)")
        if msg.msg_id in self._seen:
            return self._reject("duplicate", msg.msg_id)
        last = self.last_seq.get(msg.sender, 0)
        if msg.seq <= last:
            return self._reject("replayed", f"seq {msg.seq} from {msg.sender}, already at {last}")
        self.last_seq[msg.sender] = msg.seq
        self._seen[msg.msg_id] = None
        if len(self._seen) > self.remember_ids:
            self._seen.popitem(last=False)
        self.counters["accepted"] += 1
        return Verdict(msg=msg)
