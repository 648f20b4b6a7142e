"""Agent secrets at rest: any text is a key, a wrong key is a clear error, the stored key is private and made once."""

import stat

import pytest

from toolhub.errors import SettingsError
from toolhub.store.crypto import SecretBox, SecretKeyMismatchError, stored_key


def test_round_trip_with_any_text_key_and_fresh_ciphertexts():
    box = SecretBox("correct horse battery staple")
    token = box.encrypt("s3cret value")
    assert "s3cret" not in token and token != box.encrypt("s3cret value")  # a fresh IV each time
    assert box.decrypt(token, name="API_KEY") == "s3cret value"
    assert SecretBox("correct horse battery staple").decrypt(token, name="API_KEY") == "s3cret value"


def test_another_key_is_a_mismatch_naming_the_secret():
    token = SecretBox("one").encrypt("value")
    with pytest.raises(SecretKeyMismatchError) as failed:
        SecretBox("two").decrypt(token, name="API_KEY")
    assert failed.value.status_code == 500 and failed.value.code == "encryption_key_mismatch"
    assert "'API_KEY'" in str(failed.value) and "LETTA_ENCRYPTION_KEY" in str(failed.value)


def test_stored_key_is_made_once_with_mode_0600(tmp_path):
    path = tmp_path / "home" / "encryption-key"
    key = stored_key(path)
    assert stored_key(path) == key and len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["encryption-key"]  # no draft left behind


def test_an_empty_key_file_stops_start_up(tmp_path):
    path = tmp_path / "encryption-key"
    path.write_text("\n")
    with pytest.raises(SettingsError, match="is empty"):
        stored_key(path)
