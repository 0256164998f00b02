"""A live node that would issue unsigned CAP is refused at start-up (issue 16): the US profile (IPAWS)
takes XML-DSig signed CAP only, so `triwarn node --live --nation us` without a CAP signing key exits 2
naming --cap-key; with --cap-key/--cap-cert (checked at start-up) its CAP is signed with that key.
Exercise nodes keep signing with a key made for the run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.cli_node import check_cap_signing
from triwarn.errors import InputError
from triwarn.records.warnings import AreaWarning, WarningMessage
from triwarn.share import signing
from triwarn.warn import cap, profiles, xmlsig

T0 = 1_700_000_000.0


@pytest.fixture
def cap_key(tmp_path):
    """A CAP signing key and its certificate made for this test run (PEM files)."""
    made = xmlsig.run_key("us-live-test")
    key, cert = tmp_path / "cap.key", tmp_path / "cap.crt"
    key.write_bytes(made.key_pem)
    cert.write_bytes(made.cert_pem)
    return key, cert, made


@pytest.fixture
def keys(tmp_path):
    folder = tmp_path / "keys"
    for nation in ("us", "jp", "kr"):
        signing.write_key_pair(nation, folder)
    return folder


def _node(*args):
    result = CliRunner().invoke(app, ["node", *args])
    return result.exit_code, result.output + (result.stderr or "")


def test_a_live_us_node_without_a_cap_signing_key_is_refused(keys):
    assert profiles.profiles()["us"].ipaws and not profiles.profiles()["us"].signing_key
    code, text = _node("--nation", "us", "--live", "--keys", str(keys), "--servers", "nats://127.0.0.1:1")
    assert code == 2 and "--cap-key" in text and "signed CAP only" in text and "Traceback" not in text
    # An exercise node signs with a key made for the run; a live JP node's channels do not require one.
    for args in (("--nation", "us", "--exercise", "X"), ("--nation", "jp", "--live")):
        code, text = _node(*args, "--keys", str(keys), "--servers", "nats://127.0.0.1:1")
        assert code == 2 and "--cap-key" not in text and "--creds" in text  # refused later, for its login


def test_a_live_us_node_with_a_key_passes_and_a_bad_key_is_named(keys, cap_key, tmp_path):
    key, cert, _ = cap_key
    code, text = _node("--nation", "us", "--live", "--keys", str(keys), "--servers", "nats://127.0.0.1:1",
                       "--cap-key", str(key), "--cap-cert", str(cert))
    assert code == 2 and "--cap-key" not in text and "--creds" in text  # past the key check
    code, text = _node("--nation", "us", "--live", "--keys", str(keys), "--servers", "nats://127.0.0.1:1",
                       "--cap-key", str(key))
    assert code == 2 and "go together" in text
    other = xmlsig.run_key("another-test-key")
    wrong = tmp_path / "other.crt"
    wrong.write_bytes(other.cert_pem)
    code, text = _node("--nation", "us", "--live", "--keys", str(keys), "--servers", "nats://127.0.0.1:1",
                       "--cap-key", str(key), "--cap-cert", str(wrong))
    assert code == 2 and "not the key's" in text and str(wrong) in text
    code, text = _node("--nation", "us", "--live", "--keys", str(keys), "--servers", "nats://127.0.0.1:1",
                       "--cap-key", str(tmp_path / "missing.key"), "--cap-cert", str(cert))
    assert code == 2 and "missing.key" in text


def test_while_the_node_runs_its_live_cap_is_signed_with_the_given_key(cap_key):
    key, cert, made = cap_key
    msg = WarningMessage(sender="triwarn-us", identifier="triwarn-us.r1.r1-1.001", incident="r1-1",
                         sent_unix_s=T0, msg_type="Alert", references=(),
                         areas=(AreaWarning(code="US-GU", state="shelter", kind="impact", probability=0.9,
                                            enter_time_unix_s=T0 + 600),),
                         expires_unix_s=T0 + 3600, exercise=None)
    assert b"Signature" not in cap.to_cap(msg)  # live, no key configured: what the refusal prevents
    with pytest.raises(InputError, match="--cap-key"):
        check_cap_signing("us", live=True, key=None, cert=None)
    profile = check_cap_signing("us", live=True, key=key, cert=cert)  # what the node gets in NodeSettings.cap_profile
    signed = cap.to_cap(msg, profile=profile)
    xmlsig.verify_cap(signed, made.cert_pem)  # raises unless signed by that key over the whole document
    assert b"<status>Actual</status>" in signed
    assert profiles.profiles()["us"].signing_key is None  # the process-wide profile is never changed
