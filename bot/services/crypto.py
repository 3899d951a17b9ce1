"""Encryption of personal data at rest (ID numbers), with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet


class PersonalDataCipher:
    """Fernet (AES-128-CBC + HMAC) for values shown only masked, and a keyed hash to find
    duplicates without decrypting."""

    def __init__(self, secret: bytes) -> None:
        key = hashlib.sha256(b"wushe-personal-data:" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._hash_key = hashlib.sha256(b"wushe-lookup:" + secret).digest()
        self._code_key = hashlib.sha256(b"wushe-site-codes:" + secret).digest()
        # Keys anonymous ballots (domain.consultations.voter_key); never shown.
        self.ballot_secret = hashlib.sha256(b"wushe-ballots:" + secret).digest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def site_code_digest(self, message: str) -> bytes:
        """Keyed digest behind the rotating site codes: unguessable without SECRET_KEY."""
        return hmac.new(self._code_key, message.encode(), hashlib.sha256).digest()
