"""The sending side's pure core: stamp the envelope, check the release policy, sign, encode.

No network and no clock of its own: the caller passes `now_unix_s` (UTC seconds), so the same code runs
live, on an exercise's simulated clock and in tests.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from triwarn.share import signing
from triwarn.share.policy import NetworkSpec, Release
from triwarn.share.schema import CLASS_OF, MESSAGE_CLASSES, Message, subject_for
from triwarn.share.sealing import Sealer

log = logging.getLogger(__name__)


def new_epoch(now_unix_s: float) -> int:
    """The epoch of a sequence beginning at now_unix_s (UTC s): whole UTC milliseconds, never after it."""
    return max(0, int(now_unix_s * 1000.0))


@dataclass(frozen=True)
class Outgoing:
    """A sealed message and where it goes: one (subject, recipient) per released recipient.

    dedupe_id(recipient) is the JetStream de-duplication id for each subject (message id + recipient).
    """

    msg: Message
    data: bytes
    subjects: tuple[str, ...]
    recipients: tuple[str, ...]
    sealed: tuple[bytes, ...] = ()  # per recipient, when sealed (share/sealing.py): each its own frame

    def dedupe_id(self, recipient: str) -> str:
        return f"{self.msg.msg_id}.{recipient}"

    def data_for(self, recipient: str) -> bytes:
        """The wire bytes for one recipient: its sealed frame, or the signed message everyone gets."""
        if self.sealed:
            return self.sealed[self.recipients.index(recipient)]
        return self.data


@dataclass
class Sender:
    """Seals messages for one nation. `next_seq` continues from the last sequence the nation published
    (after a restart, pass the last seq found in its outbox + 1) within `epoch` (UTC ms at which that
    sequence began; None: a new epoch at the first seal's clock, which is what a sender with no record
    of its earlier sequence must do, so partners accept its restart at seq 1). exercise: the node's exercise name
    (NodeSettings.exercise; None: a live node); every message sealed carries it and the mode, inside
    the signature, so no caller can forget to mark exercise data."""

    nation: str
    key: signing.SigningKey
    spec: NetworkSpec
    next_seq: int = 1
    exercise: str | None = None
    epoch: int | None = None
    sealer: Sealer | None = None  # with one, every message is sealed to each recipient (share/sealing.py)
    release: Release = field(init=False)

    def __post_init__(self) -> None:
        if self.exercise is not None and not self.exercise:
            raise ValueError("an exercise needs a non-empty name (None: live)")
        self.release = Release(self.spec, self.nation)
        if self.sealer is not None:
            # Never a plaintext fallback: a recipient without an encryption key is a configuration error.
            released = {r for c in MESSAGE_CLASSES for r in self.spec.recipients(self.nation, c)}
            missing = sorted(r for r in released if not self.sealer.can_reach(r))
            if missing:
                raise ValueError(f"{self.nation} seals its messages but has no encryption key (.xpub) for "
                                 f"{', '.join(missing)}")

    @property
    def mode(self) -> str:
        """"live" or "exercise": the envelope's mode of everything this sender seals."""
        return "live" if self.exercise is None else "exercise"

    def seal(self, cls: type[Message], now_unix_s: float, *, to: tuple[str, ...] | None = None,
             **fields) -> Outgoing:
        """Build a `cls` message from `fields`, stamped (id, sender, seq, time, mode, exercise) and signed.

        to: the recipients wanted (None: every recipient the policy releases this class to). A refused
        recipient is counted in `release.refused` and logged; if none remains, nothing is sealed and the
        sequence number is not used (the returned Outgoing has no subjects).
        """
        msg_class = CLASS_OF[cls]
        recipients = self.release.recipients(msg_class, to)
        if to is not None and len(recipients) < len(to):
            log.warning("release policy refused %s from %s to %s", msg_class, self.nation,
                        sorted(set(to) - set(recipients)))
        if not recipients:
            if to is None:
                log.warning("release policy releases %s from %s to nobody", msg_class, self.nation)
            return Outgoing(msg=cls(msg_id="0" * 32, sender=self.nation, seq=1, epoch=0, sent_unix_s=now_unix_s,
                                    mode=self.mode, exercise=self.exercise, **fields),
                            data=b"", subjects=(), recipients=())
        if self.epoch is None:
            self.epoch = new_epoch(now_unix_s)
        msg = cls(msg_id=os.urandom(16).hex(), sender=self.nation, seq=self.next_seq, epoch=self.epoch,
                  sent_unix_s=now_unix_s, mode=self.mode, exercise=self.exercise, **fields)
        self.next_seq += 1
        subjects = tuple(subject_for(self.nation, r, msg_class) for r in recipients)
        if self.sealer is not None:  # signed once per recipient, as a frame (the message inside unsigned)
            frames = tuple(self.sealer.seal(msg, r, self.key) for r in recipients)
            return Outgoing(msg=msg, data=frames[0], subjects=subjects, recipients=recipients, sealed=frames)
        msg, data = signing.seal(msg, self.key)
        return Outgoing(msg=msg, data=data, subjects=subjects, recipients=recipients)
