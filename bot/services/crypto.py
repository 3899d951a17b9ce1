"""Encryption of personal data at rest (ID numbers), behind a small interface.

A stored ciphertext names its algorithm and key version: ``aes:1:<token>`` or ``sm4:2:<token>``.
`ID_CIPHER` chooses the algorithm new values are sealed with (AES, the default, or SM4 as the
Chinese commercial-crypto rules expect); `ID_KEYS` adds key versions 2, 3, … (version 1 is
derived from SECRET_KEY), the highest sealing new values. Every known version still opens, so a
deployment rotates by adding a key and running `python -m bot admin reencrypt`
(docs/privacy.md). Values written before versions existed (a bare Fernet token) open as AES
with key version 1.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.domain.privacy import parse_id_keys

ALGORITHMS = ("aes", "sm4")
__all__ = ["ALGORITHMS", "CipherError", "PersonalDataCipher", "parse_id_keys"]


class CipherError(ValueError):
    """A ciphertext that cannot be opened: unknown algorithm or key version, or tampered."""


class Algorithm(Protocol):
    """One authenticated cipher: seals bytes with a key derived from a secret."""

    name: str

    def seal(self, secret: bytes, data: bytes, context: bytes) -> str: ...

    def open(self, secret: bytes, token: str, context: bytes) -> bytes: ...


class AesFernet:
    """Fernet: AES-128-CBC with HMAC-SHA256 (the default, and what older rows hold)."""

    name = "aes"

    @staticmethod
    def _fernet(secret: bytes) -> Fernet:
        key = hashlib.sha256(b"wushe-personal-data:" + secret).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: bytes, data: bytes, context: bytes) -> str:
        return self._fernet(secret).encrypt(data).decode()

    def open(self, secret: bytes, token: str, context: bytes) -> bytes:
        try:
            return self._fernet(secret).decrypt(token.encode())
        except InvalidToken:
            raise CipherError("the AES ciphertext does not open with this key") from None


class Sm4Gcm:
    """SM4 (GB/T 32907) in GCM mode: a 12-byte random nonce, a 16-byte tag; the algorithm and
    key version are authenticated too, so a ciphertext cannot be relabelled."""

    name = "sm4"

    @staticmethod
    def _key(secret: bytes) -> bytes:
        return hashlib.sha256(b"wushe-sm4:" + secret).digest()[:16]

    def seal(self, secret: bytes, data: bytes, context: bytes) -> str:
        nonce = os.urandom(12)
        encryptor = Cipher(algorithms.SM4(self._key(secret)), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(context)
        sealed = encryptor.update(data) + encryptor.finalize()
        return base64.urlsafe_b64encode(nonce + sealed + encryptor.tag).decode()

    def open(self, secret: bytes, token: str, context: bytes) -> bytes:
        try:
            blob = base64.urlsafe_b64decode(token.encode())
        except (binascii.Error, ValueError):
            raise CipherError("the SM4 ciphertext is not base64") from None
        if len(blob) < 28:
            raise CipherError("the SM4 ciphertext is too short")
        nonce, sealed, tag = blob[:12], blob[12:-16], blob[-16:]
        decryptor = Cipher(algorithms.SM4(self._key(secret)), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(context)
        try:
            return decryptor.update(sealed) + decryptor.finalize()
        except InvalidTag:
            raise CipherError("the SM4 ciphertext does not open with this key") from None


CIPHERS: dict[str, Algorithm] = {"aes": AesFernet(), "sm4": Sm4Gcm()}


class PersonalDataCipher:
    """Seals values shown only masked; a keyed hash finds duplicates without decrypting."""

    def __init__(
        self,
        secret: bytes,
        *,
        algorithm: str = "aes",
        keys: Mapping[int, bytes] | None = None,
    ) -> None:
        if algorithm not in CIPHERS:
            raise ValueError(f"unknown cipher {algorithm!r}; one of {', '.join(ALGORITHMS)}")
        self._secrets = {1: secret, **(keys or {})}
        self.algorithm = algorithm
        self.key_version = max(self._secrets)
        self._hash_key = hashlib.sha256(b"wushe-lookup:" + secret).digest()
        self._code_key = hashlib.sha256(b"wushe-site-codes:" + secret).digest()
        # Keys anonymous ballots (domain.consultations.voter_key); never shown.
        self.ballot_secret = hashlib.sha256(b"wushe-ballots:" + secret).digest()

    @property
    def current(self) -> str:
        """The label new ciphertexts carry, e.g. ``sm4:2``."""
        return f"{self.algorithm}:{self.key_version}"

    def encrypt(self, value: str) -> str:
        label = self.current
        token = CIPHERS[self.algorithm].seal(
            self._secrets[self.key_version], value.encode(), label.encode()
        )
        return f"{label}:{token}"

    def decrypt(self, token: str) -> str:
        algorithm, version, body = self.describe(token)
        secret = self._secrets.get(version)
        if secret is None:
            raise CipherError(f"key version {version} is not configured (ID_KEYS)")
        return CIPHERS[algorithm].open(secret, body, f"{algorithm}:{version}".encode()).decode()

    @staticmethod
    def describe(token: str) -> tuple[str, int, str]:
        """(algorithm, key version, body) of a stored ciphertext."""
        head, sep, rest = token.partition(":")
        if not sep:
            return "aes", 1, token  # written before ciphertexts were labelled
        version, sep, body = rest.partition(":")
        if head not in CIPHERS or not sep or not version.isdigit():
            raise CipherError("the ciphertext's label is not algorithm:version")
        return head, int(version), body

    def is_current(self, token: str) -> bool:
        """Sealed with today's algorithm and newest key (nothing to re-encrypt)?"""
        algorithm, version, _ = self.describe(token)
        return algorithm == self.algorithm and version == self.key_version

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def site_code_digest(self, message: str) -> bytes:
        """Keyed digest behind the rotating site codes: unguessable without SECRET_KEY."""
        return hmac.new(self._code_key, message.encode(), hashlib.sha256).digest()
