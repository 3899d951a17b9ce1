"""WeChat's message security against the official samples of the Official Account and WeCom
documents (WXBizMsgCrypt): signatures, the safe-mode envelope, and XML that cannot attack."""

from __future__ import annotations

import hashlib

import pytest

from bot.channels.wechat_crypto import (
    Envelope,
    WeChatSecurityError,
    parse_xml,
    signature,
    signature_matches,
    timestamp_fresh,
    to_xml,
)

# The Official Account sample (公众号消息加解密 Sample.py): a text message in safe mode.
OA_TOKEN, OA_KEY, OA_APPID = (
    "spamtest",
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ("wx2c2769f8efd9abc2"),
)
OA_TIMESTAMP, OA_NONCE = "1409735669", "1320562132"
OA_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
OA_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGH"
    "QHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6t"
    "EDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3"
    "yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQ"
    "l+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
# The sample's encryption with a fixed random string (WXBizMsgCryptTest.java).
FIXED_APPID, FIXED_RANDOM = "wxb11529c136998cb6", b"aaaabbbbccccdddd"
FIXED_REPLY = "我是中文abcd123"
FIXED_ENCRYPTED = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)
# The WeCom callback URL check sample (企业微信 回调 VerifyURL).
WECOM_TOKEN, WECOM_KEY, WECOM_CORP = (
    "QDG6eK",
    "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    ("wx5823bf96d3bd56c7"),
)
WECOM_SIGNATURE, WECOM_TIMESTAMP, WECOM_NONCE = (
    "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "1409659589",
    "263014780",
)
WECOM_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)


def test_the_official_account_sample_verifies_and_decrypts() -> None:
    assert signature_matches(OA_MSG_SIGNATURE, OA_TOKEN, OA_TIMESTAMP, OA_NONCE, OA_ENCRYPT)
    message = parse_xml(Envelope(OA_TOKEN, OA_KEY, OA_APPID).decrypt(OA_ENCRYPT).encode())
    assert message["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert message["MsgType"] == "text" and message["Content"] == "abcdteT"
    assert message["MsgId"] == "6054768590064713728"


def test_a_forged_signature_or_another_accounts_message_is_refused() -> None:
    assert not signature_matches("0" * 40, OA_TOKEN, OA_TIMESTAMP, OA_NONCE, OA_ENCRYPT)
    assert not signature_matches(OA_MSG_SIGNATURE, OA_TOKEN, OA_TIMESTAMP, "other", OA_ENCRYPT)
    with pytest.raises(WeChatSecurityError, match="another account"):
        Envelope(OA_TOKEN, OA_KEY, "wx_someone_else").decrypt(OA_ENCRYPT)


def test_the_fixed_random_sample_encrypts_to_the_official_bytes() -> None:
    envelope = Envelope("pamtest", OA_KEY, FIXED_APPID)
    assert envelope.encrypt(FIXED_REPLY, FIXED_RANDOM) == FIXED_ENCRYPTED
    assert envelope.decrypt(FIXED_ENCRYPTED) == FIXED_REPLY


def test_the_wecom_url_check_sample_verifies_and_decrypts_the_echo() -> None:
    assert signature_matches(
        WECOM_SIGNATURE, WECOM_TOKEN, WECOM_TIMESTAMP, WECOM_NONCE, WECOM_ECHOSTR
    )
    echo = Envelope(WECOM_TOKEN, WECOM_KEY, WECOM_CORP).decrypt(WECOM_ECHOSTR)
    assert echo == "1616140317555161061"


def test_the_url_check_signs_the_sorted_token_timestamp_and_nonce() -> None:
    expected = hashlib.sha1(b"".join(sorted([b"tok", b"1700000000", b"n0nce"]))).hexdigest()
    assert signature("tok", "1700000000", "n0nce") == expected


def test_a_sealed_reply_is_signed_and_opens_to_the_reply() -> None:
    envelope = Envelope(OA_TOKEN, OA_KEY, OA_APPID)
    reply = "<xml><Content>好</Content></xml>"
    sealed = parse_xml(envelope.sealed_reply(reply, "17", "n").encode())
    assert signature_matches(sealed["MsgSignature"], OA_TOKEN, "17", "n", sealed["Encrypt"])
    assert envelope.decrypt(sealed["Encrypt"]) == "<xml><Content>好</Content></xml>"
    assert sealed["TimeStamp"] == "17" and sealed["Nonce"] == "n"


@pytest.mark.parametrize(
    "tampered",
    ["not base64!", "", "AAAA", OA_ENCRYPT[:-8] + "AAAAAAA="],
)
def test_damaged_ciphertext_is_refused(tampered: str) -> None:
    with pytest.raises(WeChatSecurityError):
        Envelope(OA_TOKEN, OA_KEY, OA_APPID).decrypt(tampered)


def test_a_wrong_key_length_is_refused() -> None:
    with pytest.raises(WeChatSecurityError, match="43"):
        Envelope(OA_TOKEN, OA_KEY[:-1], OA_APPID)


def test_the_timestamp_window_refuses_replays() -> None:
    assert timestamp_fresh("1000", now=1100, window=300)
    assert not timestamp_fresh("1000", now=1400, window=300)
    assert not timestamp_fresh("soon", now=1000, window=300)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<xml><Content>&lol2;</Content></xml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>"""


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL, b"<xml><Content>", b"", b"<xml>" + b"a" * 70_000 + b"</xml>"],
)
def test_hostile_or_broken_xml_is_refused(body: bytes) -> None:
    with pytest.raises(WeChatSecurityError):
        parse_xml(body)


def test_text_is_escaped_in_and_kept_exactly_out() -> None:
    xml = to_xml({"Content": "a < b & <![CDATA[ x ]]>", "CreateTime": 1})
    assert parse_xml(xml.encode()) == {"Content": "a < b & <![CDATA[ x ]]>", "CreateTime": "1"}
