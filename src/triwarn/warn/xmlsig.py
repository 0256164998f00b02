"""XML Digital Signatures on CAP documents: enveloped, RSA-SHA256, exclusive C14N, with the nation's key
(signxml does the XML-DSig work; this module only chooses keys and reads signed documents back).

IPAWS takes only signed CAP, and a recipient must be able to tell a nation's alert from a forgery. The
signature is the last child of <alert> (CAP 1.2's schema admits XML-DSig there) and covers the whole
document. Keys:
  - a nation's configured key and certificate (PEM files named by `signing_key` and `signing_cert` in
    its profile, paths relative to the profiles file), used live and in exercises;
  - otherwise, for exercises and replays only, a key made for the run (`run_key`): the documents are
    signed, and verify against the certificate the run publishes (`key.cert_pem`), but nobody outside
    the run trusts it. A live node without a configured key issues unsigned CAP (the IPAWS profile
    check reports it).
`verify_cap` is the reading side: the signature must verify against the given certificate and cover the
whole document, or an InputError says why.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import InvalidInput, InvalidSignature, XMLSigner, XMLVerifier, methods

from triwarn.errors import InputError

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class SigningKey:
    """A private key and its certificate, both PEM."""

    key_pem: bytes
    cert_pem: bytes
    name: str

    @property
    def private_key(self):
        """The loaded key (loading a PEM RSA key checks it, which costs tens of ms: done once)."""
        return _loaded(self.key_pem)


@cache
def _loaded(key_pem: bytes):
    return serialization.load_pem_private_key(key_pem, password=None)


def load_key(key_path: Path, cert_path: Path, name: str) -> SigningKey:
    """A nation's configured key; InputError naming the file when it cannot be read or does not match."""
    try:
        key_pem, cert_pem = Path(key_path).read_bytes(), Path(cert_path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the CAP signing key or certificate ({exc})", source=str(exc.filename)) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except (ValueError, TypeError) as exc:
        raise InputError(f"not a PEM private key and certificate ({exc})", source=str(key_path)) from None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise InputError("the certificate is not the key's", source=str(cert_path))
    return SigningKey(key_pem, cert_pem, name)


@cache
def run_key(name: str) -> SigningKey:
    """A key and self-signed certificate made for this run (exercises and replays only)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} exercise CAP signing (run key)")])
    now = _dt.datetime.now(_dt.UTC)  # certificate validity only; never reaches the warning core
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=30)).sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return SigningKey(key_pem, cert.public_bytes(serialization.Encoding.PEM), name)


def key_for(profile, *, exercise: bool) -> SigningKey | None:
    """The key a profile's CAP is signed with: its configured one, else a run key for an exercise, else
    None (live without a configured key: unsigned)."""
    if profile.signing_key and profile.signing_cert:
        return _configured(profile.signing_key, profile.signing_cert, profile.name)
    return run_key(profile.name) if exercise else None


@cache
def _configured(key_path: str, cert_path: str, name: str) -> SigningKey:
    return load_key(Path(key_path), Path(cert_path), name)


def sign_cap(xml: bytes, key: SigningKey) -> bytes:
    """The CAP document with an enveloped signature appended as the last child of <alert>."""
    root = etree.fromstring(xml, _PARSER)
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    signed = signer.sign(root, key=key.private_key, cert=key.cert_pem.decode())
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify_cap(xml: bytes, cert_pem: bytes, *, source: str | None = None) -> etree._Element:
    """The signed <alert>, after checking that its enveloped signature verifies against cert_pem and
    covers the whole document; InputError naming the source otherwise (unsigned, altered, wrong key)."""
    try:
        doc = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not well-formed XML: {exc}", source=source) from None
    if doc.find(f"{{{DSIG_NS}}}Signature") is None:
        raise InputError("CAP document is not signed", source=source, field="Signature")
    try:
        result = XMLVerifier().verify(doc, x509_cert=cert_pem.decode(), expect_references=1)
    except (InvalidSignature, InvalidInput) as exc:
        raise InputError(f"CAP signature does not verify: {exc}", source=source, field="Signature") from None
    signed = result.signed_xml
    if signed is None or etree.QName(signed).localname != "alert":
        raise InputError("the signature does not cover the whole <alert>", source=source, field="Signature")
    return signed


__all__ = ["DSIG_NS", "SigningKey", "key_for", "load_key", "run_key", "sign_cap", "verify_cap"]
