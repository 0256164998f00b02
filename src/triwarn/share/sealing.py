"""End-to-end encryption: what a nation releases to one partner is readable by that partner alone.

The hub relays and stores every message between Japan and Korea (and holds the streams of what each
releases to it); with sealing it relays ciphertext. Each message goes to each recipient as its own
`SealedFrame` (wire kind "sealed", on the same subject tw.<from>.<to>.<class>, so the brokers' release
filters work unchanged):

    key       = crypto_box_beforenm(recipient's X25519 public key, sender's X25519 private key)
                (libsodium: HSalsa20 of the X25519 shared secret; the same key for the pair both ways)
    nonce     = 24 random bytes
    box       = XChaCha20-Poly1305-IETF(key, nonce, plaintext, associated data = b"triwarn-box-v1\\x00"
                + sender + b"\\x00" + recipient)
    plaintext = the message's canonical JSON (signing.py) with `sig` empty
    frame     = {"kind": "sealed", "sender", "to", "nonce", "box", "schema", "sig"}, signed with the
                sender's Ed25519 key exactly like any message (signing.seal: the signature covers
                sender, recipient, nonce and ciphertext)

Encrypt, then sign, and why: the receiver checks the signature before it decrypts, so a forged or
altered frame costs one verification and is refused as `bad_signature` like any other; the signed
frame names the recipient, so a partner cannot pass a message it received on to a third nation as if
addressed to it; and the associated data binds sender and recipient into the ciphertext, so a nation
that re-signs another's frame as its own (claiming content it cannot read) gets a frame nobody can
open (`undecryptable`). Inside the box the message keeps its whole envelope (id, seq, epoch, mode,
times), checked as today after opening; the hub sees only who sends to whom, the class (subject) and
the size. The static-static key (no ephemeral key per message) costs no public-key operation per
message (the pair's key is computed once); the price is no forward secrecy: whoever later steals a
nation's X25519 private key can read that nation's recorded traffic (as with any static scheme).

Keys: `<nation>.xkey` / `<nation>.xpub` beside the signing keys (signing.write_key_pair,
signing.load_box_key, TrustStore.box_keys).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import msgspec
import nacl.bindings
import nacl.exceptions
import nacl.utils

from triwarn.errors import InputError
from triwarn.share import signing
from triwarn.share.policy import NetworkSpec
from triwarn.share.schema import MESSAGE_CLASSES, Message, SealedFrame

BOX_DOMAIN = b"triwarn-box-v1\x00"
NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  # 24


_wire_decoder = msgspec.json.Decoder(Message | SealedFrame)
_inner_decoder = msgspec.json.Decoder(Message)
_plain_encoder = msgspec.json.Encoder(order="sorted")


__all__ = ["OpenError", "SealedFrame", "Sealer", "decode_wire", "node_box_key"]


def decode_wire(data: bytes) -> Message | SealedFrame:
    """A received message or sealed frame; raises msgspec.ValidationError / DecodeError like schema.decode."""
    return _wire_decoder.decode(data)


class OpenError(ValueError):
    """A sealed frame that cannot be opened: (reason, detail) with an admission reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _ad(sender: str, recipient: str) -> bytes:
    return BOX_DOMAIN + sender.encode("ascii") + b"\x00" + recipient.encode("ascii")


class Sealer:
    """One nation's sealing and opening: its X25519 key and its partners' public keys (TrustStore.box_keys).
    The key of each pair is computed once and kept."""

    def __init__(self, nation: str, box_key: signing.BoxKey, trust: signing.TrustStore) -> None:
        self.nation = nation
        self.box_key = box_key
        self.trust = trust
        self._shared: dict[str, bytes] = {}

    def can_reach(self, partner: str) -> bool:
        return self.trust.box(partner) is not None

    def _key(self, partner: str) -> bytes:
        key = self._shared.get(partner)
        if key is None:
            public = self.trust.box(partner)
            if public is None:
                raise KeyError(f"no encryption key for {partner!r} in the trust store ({partner}.xpub)")
            key = nacl.bindings.crypto_box_beforenm(bytes(public), bytes(self.box_key))
            self._shared[partner] = key
        return key

    def seal(self, msg: Message, recipient: str, signing_key: signing.SigningKey) -> bytes:
        """The wire bytes of msg sealed to recipient and signed by this nation (msg.sender)."""
        plaintext = _plain_encoder.encode(msgspec.structs.replace(msg, sig=""))
        nonce = nacl.utils.random(NONCE_BYTES)
        box = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext, _ad(self.nation, recipient), nonce, self._key(recipient))
        frame = SealedFrame(sender=self.nation, to=recipient, nonce=base64.b64encode(nonce).decode("ascii"),
                            box=base64.b64encode(box).decode("ascii"))
        return signing.seal(frame, signing_key)[1]

    def open(self, frame: SealedFrame) -> Message:
        """The message inside a frame addressed to this nation whose signature was already verified.
        Raises OpenError: `undecryptable` (not sealed with this nation's key by that sender, or altered
        before signing) or `malformed` (the plaintext is not a message of the frame's sender)."""
        if frame.to != self.nation:
            raise OpenError("subject_mismatch", f"sealed to {frame.to}, this is {self.nation}")
        return self._open(frame, frame.sender)

    def open_own(self, frame: SealedFrame) -> Message:
        """The message inside a frame this nation sealed (the pair's key works both ways): how a node
        restarting finds its own sequence in its outbox. Raises OpenError like `open`."""
        if frame.sender != self.nation:
            raise OpenError("malformed", f"sealed by {frame.sender}, not by {self.nation}")
        return self._open(frame, frame.to)

    def _open(self, frame: SealedFrame, peer: str) -> Message:
        try:
            nonce = base64.b64decode(frame.nonce, validate=True)
            box = base64.b64decode(frame.box, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise OpenError("malformed", f"sealed frame from {frame.sender}: not base64: {exc}") from None
        if len(nonce) != NONCE_BYTES:
            raise OpenError("malformed", f"sealed frame from {frame.sender}: a nonce of {len(nonce)} bytes")
        try:
            key = self._key(peer)
        except KeyError as exc:
            raise OpenError("undecryptable", str(exc)) from None
        try:
            plaintext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                box, _ad(frame.sender, frame.to), nonce, key)
        except nacl.exceptions.CryptoError:
            raise OpenError("undecryptable", f"sealed frame from {frame.sender} to {frame.to} does not open "
                            f"with the {self.nation}-{peer} key") from None
        try:
            msg = _inner_decoder.decode(plaintext)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise OpenError("malformed", f"sealed frame from {frame.sender}: {exc}") from None
        if msg.sender != frame.sender:
            raise OpenError("malformed", f"sealed frame from {frame.sender} holds a message of {msg.sender}")
        return msg


def node_box_key(directory: Path, nation: str, trust: signing.TrustStore, spec: NetworkSpec) -> signing.BoxKey | None:
    """A node's encryption key from DIR/<nation>.xkey (`ShareTransport(..., box_key=...)`), or None when
    the directory has none (encryption off). With a key, every partner the release policy sends to needs
    its DIR/<partner>.xpub in the trust store: InputError naming the missing files otherwise."""
    path = Path(directory) / f"{nation}.xkey"
    if not path.exists():
        return None
    key = signing.load_box_key(path)
    released = {r for c in MESSAGE_CLASSES for r in spec.recipients(nation, c)}
    missing = sorted(r for r in released if trust.box(r) is None)
    if missing:
        raise InputError(f"{nation}.xkey turns encryption on, but there is no encryption key for "
                         f"{', '.join(f'{p}.xpub' for p in missing)}", source=str(directory))
    return key
