"""Fixtures for the sharing tests: nation keys, a trust store, and real local networks."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import time

import nats.errors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.schema import TrackState
from triwarn.share.servers import LocalNetwork
from triwarn.share.transport import ShareTransport


@pytest.fixture(scope="session")
def spec():
    return load_network()


@pytest.fixture(scope="session")
def keys(spec):
    return {n: signing.new_key() for n in spec.nations}


@pytest.fixture(scope="session")
def trust(keys):
    return signing.TrustStore({n: k.verify_key for n, k in keys.items()})


@pytest.fixture
def net(spec, tmp_path):
    """The default three-nation network, fresh for each test (starts in well under a second)."""
    with LocalNetwork.start(spec, tmp_path / "net") as running:
        yield running


@pytest.fixture(scope="session")
def make_track():
    """make_track(i, t_unix_s) -> a TrackState with distinct, exactly representable numbers, within the
    physical bounds (share/bounds.py) at a receiver's clock near t_unix_s."""
    return track_state


# A positive-definite covariance, upper triangle row by row: position sigmas 100 m, velocity sigmas 5 m/s,
# each position correlated 0.2 with its velocity.
GOOD_COV = [1e4, 0.0, 0.0, 100.0, 0.0, 0.0,
            1e4, 0.0, 0.0, 100.0, 0.0,
            1e4, 0.0, 0.0, 100.0,
            25.0, 0.0, 0.0,
            25.0, 0.0,
            25.0]


def track_state(i: int = 0, t_unix_s: float = 1_700_000_000.0) -> TrackState:
    return TrackState(track_id=f"kr-{i}", t_unix_s=t_unix_s, pos_ecef_m=[-3.1e6 + i, 4.1e6, 3.9e6],
                      vel_ecef_mps=[1200.0, -300.5, 2000.25], cov_ecef=list(GOOD_COV),
                      mode="ballistic", quality=0.9, nations=["kr"])


def _cert(subject_cn, issuer_key, issuer_name, key, is_ca):
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                                                   subject_cn)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if not is_ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_files(tmp_path):
    """A throw-away CA and a server certificate for 127.0.0.1/localhost: {ca_file, cert_file, key_file}."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "triwarn test CA")])
    ca = _cert("triwarn test CA", ca_key, ca_name, ca_key, True)
    cert = _cert("localhost", ca_key, ca_name, key, False)
    paths = {"ca_file": tmp_path / "ca.pem", "cert_file": tmp_path / "server.pem",
             "key_file": tmp_path / "key.pem"}
    paths["ca_file"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert_file"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key_file"].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return {k: str(v) for k, v in paths.items()}


def transport(net, spec, keys, trust, nation, **kw) -> ShareTransport:
    """A nation's transport on the test network, with that nation's node credentials."""
    return ShareTransport(nation, spec, keys[nation], trust, **net.node_credentials(nation), **kw)


@contextlib.asynccontextmanager
async def kr_to_jp(net, spec, keys, trust, keep=None):
    """KR's and JP's transports on the test network, both connected, JP receiving: yields (kr, jp, got), got
    the list of what JP received (each message, or keep(message)). Both are closed on the way out; closing
    twice is harmless, so a test may close KR (or open another) on the way."""
    kr = transport(net, spec, keys, trust, "kr")
    jp = transport(net, spec, keys, trust, "jp")
    await kr.connect()
    await jp.connect()
    got = []
    await jp.start_receiving(got.append if keep is None else lambda m: got.append(keep(m)))
    try:
        yield kr, jp, got
    finally:
        await kr.close()
        await jp.close()


async def wait_for(predicate, timeout_s: float = 10.0) -> bool:
    """Poll predicate until it holds (True) or timeout_s passes (False)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


class StreamApi:
    """Answers one stream's JetStream INFO and UPDATE requests as a server does (config, and state when
    given); the first `fail` UPDATEs time out: the retry paths a real server cannot be made to take."""

    def __init__(self, config: dict, state: dict | None = None, fail: int = 0) -> None:
        self.config, self.state, self.fail = config, state, fail
        self.is_closed, self.is_connected = False, True

    async def request(self, subject: str, data: bytes, timeout: float):
        if ".UPDATE." in subject:
            if self.fail > 0:
                self.fail -= 1
                raise nats.errors.TimeoutError
            self.config = json.loads(data)
        body = {"config": self.config} if self.state is None else {"config": self.config, "state": self.state}
        return type("Reply", (), {"data": json.dumps(body).encode()})()
