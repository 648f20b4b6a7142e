"""Encryption at rest for agent secrets: Fernet (AES-128-CBC with an HMAC-SHA256 tag) under one server key.

The key is the setting `encryption_key` (`TOOLHUB_ENCRYPTION_KEY`, or Letta's `LETTA_ENCRYPTION_KEY`), any text;
without it, a random key made once and kept in `TOOLHUB_HOME/encryption-key` (mode 0600). Replicas that share a
database must share the key, or each reads only what it wrote itself.
"""

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from toolhub.errors import SettingsError, ToolhubError

_KDF_INFO = b"toolhub agent secrets v1"


class SecretKeyMismatchError(ToolhubError):
    """A stored secret this server's key cannot decrypt: the server's key is not the one it was written with."""

    status_code = 500
    code = "encryption_key_mismatch"


class SecretBox:
    """Encrypts and decrypts secret values with a key derived from `key` (so any text can be a key)."""

    def __init__(self, key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str, *, name: str) -> str:
        """The clear value of `token`; `name` says which secret failed.

        Raises:
            SecretKeyMismatchError: `token` was not written with this server's key.
        """
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyMismatchError(
                f"Secret {name!r} cannot be decrypted with this server's encryption key: every server sharing a "
                "database must use the same key (TOOLHUB_ENCRYPTION_KEY or LETTA_ENCRYPTION_KEY)"
            ) from None


def stored_key(path: Path) -> str:
    """The key kept in `path`, made (random, mode 0600) when there is none; two first starts agree on one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode() + "\n")
        try:
            os.link(draft, path)  # atomic, and never replaces a key another start wrote meanwhile
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if not key:
        raise SettingsError(f"{path} is empty: delete it to make a new key (secrets written with the old one are lost)")
    return key
