"""The receiving side's pure core: decide whether a received message is accepted, and why not.

Checks, in order (the first failure is the reason):

==================  ==========================================================================
unsupported_schema  a `schema` version this node does not read (an older sender: version 2 has no
                    epoch, so its sequence could not be ordered against a version-3 restart)
malformed           not valid JSON for the schema (wrong types, missing or unknown fields)
subject_mismatch    the NATS subject (tw.<from>.<to>.<class>) disagrees with the message's
                    sender or class, or is not addressed to this nation
out_of_policy       the network's release policy does not release this class from the sender
                    to this nation
unsigned            no signature
unknown_sender      no public key for the sender in the trust store
bad_signature       the signature does not verify: forged (signed with another key) or altered
                    after signing; the two cannot be told apart, so they share one reason
wrong_mode          of the other mode (an exercise message at a live node, a live one at an
                    exercise node) or of another exercise: live and exercise never meet
from_future         sent more than `future_skew_s` ahead of the receiver's clock
stale               sent more than `max_age_s` before the receiver's clock
duplicate           a message id already accepted (store-and-forward may deliver twice: normal)
bad_epoch           an epoch (when the sender's sequence began) after the message's own sent time
                    (+ future_skew_s)
replayed            an epoch older than the newest accepted from that sender, or, in the same epoch,
                    a sequence number not above the highest already accepted from it
seq_jump            a sequence number implausibly far above the last accepted from that sender
                    (share/bounds.py: accepting it would refuse all its later messages as replayed)
out_of_bounds       authentic content outside physical bounds (share/bounds.py): a position,
                    speed, covariance, track or event time no missile has; the detail names the
                    field and its value
unsealed            a plaintext message at a node that takes only sealed ones (it has an
                    encryption key: share/sealing.py)
undecryptable       a correctly signed sealed frame that does not open with this node's key (sealed
                    to another key, or re-signed by a nation that is not its author)
==================  ==========================================================================

Sealed frames (share/sealing.py) are checked in this order: decoded; addressed to this nation on a
subject from their sender (`subject_mismatch`); signed (`unsigned`, `unknown_sender`, `bad_signature`:
before any decryption); opened (`undecryptable`, or `malformed` when what is inside is not a message of
that sender); then the message inside goes through every check above from `subject_mismatch` on,
its signature being the frame's.

Sequence epochs: a sender that lost its outbox (a server's disk) starts a new epoch (UTC ms, later
than the old one) at seq 1. A message of a newer epoch, authentic, inside the time window and not
older than its own epoch, starts that sender's sequence state afresh (counted in `epoch_changes`,
logged); older epochs are refused as `replayed`, so no message of an earlier sequence comes back.

A rejected message changes nothing but its counter: whatever was accepted before stays accepted.
`admit` never raises: anything unexpected in a message is `malformed`, counted like any other reason.
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

from triwarn.share import bounds, signing
from triwarn.share.policy import NetworkSpec
from triwarn.share.schema import SCHEMA_VERSION, Message, message_class, schema_version_of
from triwarn.share.sealing import OpenError, SealedFrame, Sealer, decode_wire

log = logging.getLogger(__name__)

REJECT_REASONS = ("malformed", "subject_mismatch", "out_of_policy", "unsigned", "unknown_sender",
                  "bad_signature", "wrong_mode", "from_future", "stale", "duplicate", "replayed", "seq_jump",
                  "out_of_bounds", "unsupported_schema", "bad_epoch", "unsealed", "undecryptable")


def describe_mode(exercise: str | None) -> str:
    """'live' or "exercise 'NAME'", for reasons and logs."""
    return "live" if exercise is None else f"exercise {exercise!r}"


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
    counters (`counters["accepted"]` and one per reject reason). exercise: this node's exercise name
    (None: a live node); only messages of the same mode and exercise are accepted. sealer: this node's
    encryption key and its partners' (share/sealing.py); with one, sealed frames are opened and, unless
    require_sealed is False, plaintext messages refused (`unsealed`)."""

    nation: str
    spec: NetworkSpec
    trust: signing.TrustStore
    future_skew_s: float = 5.0
    max_age_s: float = 900.0
    remember_ids: int = 100_000
    exercise: str | None = None
    last_seq: dict[str, int] = field(default_factory=dict)
    last_epoch: dict[str, int] = field(default_factory=dict)  # the epoch of that last accepted message
    last_sent: dict[str, float] = field(default_factory=dict)  # sent_unix_s of that last accepted message
    limits: bounds.Limits = bounds.LIMITS
    sealer: Sealer | None = None
    require_sealed: bool | None = None  # None: when there is a sealer
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("accepted", *REJECT_REASONS), 0))
    epoch_changes: int = 0  # accepted messages that started a sender's new epoch (not a verdict: kept apart)
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _restoring: bool = False

    @property
    def mode(self) -> str:
        """"live" or "exercise": the only mode this node accepts (with its own exercise name)."""
        return "live" if self.exercise is None else "exercise"

    def _reject(self, reason: str, detail: str, msg: Message | None = None) -> Verdict:
        self.counters[reason] += 1
        if reason != "duplicate" and not self._restoring:
            log.warning("%s rejected a message: %s: %s", self.nation, reason, detail)
        return Verdict(msg=None, reason=reason, detail=detail)

    def admit(self, data: bytes, subject: str | None, now_unix_s: float) -> Verdict:
        """Check one received message (raw bytes and the subject it came on; None skips the subject
        check, for messages read from a file) against the receiver's clock now_unix_s (UTC s).
        Never raises: whatever a message holds, the verdict is an acceptance or a counted reason."""
        try:
            return self._check(data, subject, now_unix_s)
        except Exception as exc:  # a partner's bytes must never stop this node
            log.exception("%s: unexpected error admitting a message", self.nation)
            return self._reject("malformed", f"unexpected {type(exc).__name__}: {exc}")

    def restore(self, data: bytes, subject: str | None) -> bool:
        """Re-learn the state (sequence, id) of a message accepted before a restart, without the time
        window and without counting; True if it was a valid message."""
        saved, saved_changes = dict(self.counters), self.epoch_changes
        self._restoring = True
        try:
            return self._check(data, subject, None).accepted
        except Exception:  # as admit: never raises
            log.exception("%s: unexpected error restoring a message", self.nation)
            return False
        finally:
            self.counters, self.epoch_changes = saved, saved_changes
            self._restoring = False

    def _signature_problem(self, data: bytes, msg, what: str) -> Verdict | None:
        if not msg.sig:
            return self._reject("unsigned", what)
        key = self.trust.get(msg.sender)
        if key is None:
            return self._reject("unknown_sender", f"no public key for {msg.sender!r}")
        if not signing.verify_wire(data, msg, key):
            return self._reject("bad_signature", what)
        return None

    def _open(self, data: bytes, frame: SealedFrame, subject: str | None) -> Message | Verdict:
        """The message inside a sealed frame, or the rejection (the frame's own checks)."""
        parts = None if subject is None else subject.split(".")
        if frame.to != self.nation or (parts is not None and (len(parts) != 4 or parts[0] != "tw" or
                                                              parts[1] != frame.sender or parts[2] != self.nation)):
            return self._reject("subject_mismatch", f"frame sealed by {frame.sender} to {frame.to} came on "
                                f"{subject}")
        problem = self._signature_problem(data, frame, f"frame sealed by {frame.sender} to {frame.to}")
        if problem is not None:
            return problem
        if self.sealer is None:
            return self._reject("undecryptable", f"frame from {frame.sender}: this node has no encryption key")
        try:
            return self.sealer.open(frame)
        except OpenError as exc:
            return self._reject(exc.reason, exc.detail)

    def _check(self, data: bytes, subject: str | None, now_unix_s: float | None) -> Verdict:
        """All checks; now_unix_s None skips the time window (restoring state only)."""
        try:
            msg = decode_wire(data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            version = schema_version_of(data)
            if version is not None and version != SCHEMA_VERSION:
                return self._reject("unsupported_schema", f"schema version {version}, this node reads version "
                                    f"{SCHEMA_VERSION}: the sender must run the same triwarn release")
            return self._reject("malformed", str(exc))
        authentic = False  # True: the signature was checked on the sealed frame
        if isinstance(msg, SealedFrame):
            opened = self._open(data, msg, subject)
            if isinstance(opened, Verdict):
                return opened
            msg, authentic = opened, True
        elif self.require_sealed or (self.require_sealed is None and self.sealer is not None):
            return self._reject("unsealed", f"a plaintext {message_class(msg)} from {msg.sender}: this node "
                                "takes only messages sealed to it")
        msg_class = message_class(msg)
        if subject is not None:
            parts = subject.split(".")
            if (len(parts) != 4 or parts[0] != "tw" or parts[1] != msg.sender or parts[2] != self.nation
                    or parts[3] != msg_class):
                return self._reject("subject_mismatch", f"{msg_class} from {msg.sender} came on {subject}")
        if msg.sender == self.nation or not self.spec.allows(msg.sender, self.nation, msg_class):
            return self._reject("out_of_policy",
                                f"{msg.sender} does not release {msg_class} to {self.nation}")
        if not authentic:
            problem = self._signature_problem(data, msg, f"{msg_class} {msg.msg_id} from {msg.sender} "
                                              f"seq {msg.seq}")
            if problem is not None:
                return problem
        if msg.mode != self.mode or msg.exercise != self.exercise:
            return self._reject("wrong_mode", f"{msg_class} from {msg.sender} is "
                                f"{describe_mode(msg.exercise)}, this node is {describe_mode(self.exercise)}")
        ahead_s = 0.0 if now_unix_s is None else msg.sent_unix_s - now_unix_s
        if ahead_s > self.future_skew_s:
            return self._reject("from_future", f"sent {ahead_s:.3f} s ahead of this clock "
                                f"(tolerance {self.future_skew_s} s): check the clocks")
        if -ahead_s > self.max_age_s:
            return self._reject("stale", f"sent {-ahead_s:.1f} s ago (limit {self.max_age_s} s)")
        if msg.msg_id in self._seen:
            return self._reject("duplicate", msg.msg_id)
        # The sender stamps its epoch from the clock that stamps sent_unix_s; the skew tolerance covers a
        # node whose clock was moved back a little since its sequence began.
        if msg.epoch > (msg.sent_unix_s + self.future_skew_s) * 1000.0:
            return self._reject("bad_epoch", f"{msg_class} from {msg.sender}: epoch {msg.epoch} ms is after "
                                f"the message's sent time {msg.sent_unix_s:.3f} s (+{self.future_skew_s} s)")
        last_epoch = self.last_epoch.get(msg.sender)
        if last_epoch is not None and msg.epoch < last_epoch:
            return self._reject("replayed", f"{msg_class} from {msg.sender} of epoch {msg.epoch}, older than "
                                f"its epoch {last_epoch}")
        fresh = last_epoch is not None and msg.epoch > last_epoch  # the sender restarted its sequence
        last_seq = None if fresh else self.last_seq.get(msg.sender)
        if msg.seq <= (last_seq or 0):
            return self._reject("replayed", f"seq {msg.seq} from {msg.sender}, already at {last_seq}")
        jump = bounds.seq_problem(msg.seq, last_seq, None if fresh else self.last_sent.get(msg.sender),
                                  msg.sent_unix_s, self.limits)
        if jump is not None:
            return self._reject("seq_jump", f"{msg_class} from {msg.sender}: {jump}")
        problem = bounds.content_problem(msg, now_unix_s, future_skew_s=self.future_skew_s,
                                         max_age_s=self.max_age_s, limits=self.limits)
        if problem is not None:
            return self._reject("out_of_bounds", f"{msg_class} {msg.msg_id} from {msg.sender}: {problem}")
        if fresh:
            self.epoch_changes += 1
            if not self._restoring:
                log.warning("%s: %s restarted its sequence: epoch %d (was %d), seq %d", self.nation, msg.sender,
                            msg.epoch, last_epoch, msg.seq)
        self.last_seq[msg.sender] = msg.seq
        self.last_epoch[msg.sender] = msg.epoch
        self.last_sent[msg.sender] = msg.sent_unix_s
        self._seen[msg.msg_id] = None
        if len(self._seen) > self.remember_ids:
            self._seen.popitem(last=False)
        self.counters["accepted"] += 1
        return Verdict(msg=msg)
