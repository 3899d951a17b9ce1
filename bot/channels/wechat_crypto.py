"""WeChat's message security, the same for Official Accounts (公众号) and WeCom (企业微信):
signatures (SHA-1 of the sorted strings), the AES-256-CBC envelope of safe mode
(random 16 bytes + length + message + receive id, PKCS#7 to 32 bytes, IV = the key's first
16 bytes) and XML parsed without DOCTYPE or entities. Checked against the official samples in
tests/unit/test_wechat_crypto.py."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
MAX_XML_BYTES = 64 * 1024


class WeChatSecurityError(Exception):
    """A request that must be refused: bad signature, key, envelope or XML."""


def signature(*parts: str) -> str:
    """SHA-1 hex of the parts sorted and joined: the URL check signs (token, timestamp,
    nonce), safe mode adds the encrypted message (msg_signature)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_matches(expected: str, *parts: str) -> bool:
    return hmac.compare_digest(expected.encode(), signature(*parts).encode())


def timestamp_fresh(timestamp: str, now: float, window: float) -> bool:
    """A replayed request carries an old timestamp: refuse outside the window."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    return abs(now - sent) <= window


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise WeChatSecurityError("the EncodingAESKey must have 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise WeChatSecurityError("the EncodingAESKey is not Base64") from error
    if len(key) != 32:
        raise WeChatSecurityError("the EncodingAESKey must decode to 32 bytes")
    return key


class Envelope:
    """Encrypts and decrypts safe-mode messages for one receive id (the app id of an
    Official Account, the corp id of WeCom)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        body = message.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body))
        plain += body + self.receive_id.encode()
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(sealed).decode()

    def decrypt(self, encrypted: str) -> str:
        try:
            sealed = base64.b64decode(encrypted, validate=True)
        except binascii.Error as error:
            raise WeChatSecurityError("the message is not Base64") from error
        if not sealed or len(sealed) % 16:
            raise WeChatSecurityError("the message is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(sealed) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise WeChatSecurityError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise WeChatSecurityError("the envelope is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise WeChatSecurityError("the message is for another account")
        try:
            return message.decode()
        except UnicodeDecodeError as error:
            raise WeChatSecurityError("the message is not UTF-8") from error

    def sealed_reply(
        self, reply_xml: str, timestamp: str, nonce: str, random16: bytes | None = None
    ) -> str:
        """A passive reply in safe mode: the encrypted XML, signed."""
        encrypted = self.encrypt(reply_xml, random16)
        return to_xml(
            {
                "Encrypt": encrypted,
                "MsgSignature": signature(self.token, timestamp, nonce, encrypted),
                "TimeStamp": timestamp,
                "Nonce": nonce,
            }
        )


def parse_xml(body: bytes) -> dict[str, str]:
    """The fields of a WeChat XML message (one level: WeChat's messages are flat, but for
    `ScanCodeInfo`-type groups, whose children are flattened too). DOCTYPE, entities and
    oversized bodies are refused."""
    if len(body) > MAX_XML_BYTES:
        raise WeChatSecurityError("the body is too large")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as error:
        raise WeChatSecurityError(f"bad XML: {type(error).__name__}") from error
    fields: dict[str, str] = {}
    for child in root.iter():
        if child is root:
            continue
        if len(child) == 0:
            fields[child.tag] = child.text or ""
    return fields


def to_xml(fields: dict[str, str | int]) -> str:
    """A flat <xml> document; strings as text (ElementTree escapes them)."""
    root = Element("xml")
    for name, value in fields.items():
        SubElement(root, name).text = str(value)
    return tostring(root, encoding="unicode")
