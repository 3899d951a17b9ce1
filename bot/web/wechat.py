"""The WeChat callback URL (/wechat): the GET URL check, and messages in plaintext,
compatible or safe mode — signatures checked in constant time, a replay window on the
timestamp, hostile XML refused, a body size limit — answered within WeChat's 5 seconds."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_crypto import (
    MAX_XML_BYTES,
    Envelope,
    WeChatSecurityError,
    parse_xml,
    signature_matches,
    timestamp_fresh,
    to_xml,
)

log = logging.getLogger(__name__)

PATH = "/wechat"
REPLAY_WINDOW_SECONDS = 300.0


@dataclass(frozen=True)
class WeChatEndpoint:
    token: str
    app_id: str
    envelope: Envelope | None  # None without an EncodingAESKey: plaintext mode only
    channel: WeChatChannel
    budget_seconds: float = 4.0


endpoint_key = web.AppKey("wechat_endpoint", WeChatEndpoint)


def _checked(request: web.Request, endpoint: WeChatEndpoint) -> tuple[str, str]:
    query = request.query
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not signature_matches(query.get("signature", ""), endpoint.token, timestamp, nonce):
        raise web.HTTPForbidden(text="bad signature")
    if not timestamp_fresh(timestamp, time.time(), REPLAY_WINDOW_SECONDS):
        raise web.HTTPForbidden(text="stale timestamp")
    return timestamp, nonce


async def verify_url(request: web.Request) -> web.Response:
    endpoint = request.app[endpoint_key]
    _checked(request, endpoint)
    return web.Response(text=request.query.get("echostr", ""))


async def _body(request: web.Request) -> bytes:
    """The whole body (read to its end, however it arrives), at most MAX_XML_BYTES."""
    if request.content_length is not None and request.content_length > MAX_XML_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_XML_BYTES, request.content_length)
    body = bytearray()
    while chunk := await request.content.read(65536):
        body.extend(chunk)
        if len(body) > MAX_XML_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_XML_BYTES, len(body))
    return bytes(body)


async def receive(request: web.Request) -> web.Response:
    endpoint = request.app[endpoint_key]
    timestamp, nonce = _checked(request, endpoint)
    try:
        fields = parse_xml(await _body(request))
        safe = request.query.get("encrypt_type") == "aes"
        if endpoint.envelope is not None and not safe:
            # With a key the account is in safe mode: a plaintext POST's signature does not
            # cover its body, so it could carry anyone's message.
            raise WeChatSecurityError("plaintext refused in safe mode")
        if not safe and not await endpoint.channel.state.add_once(
            f"nonce:{timestamp}:{nonce}", ttl=int(REPLAY_WINDOW_SECONDS) * 2
        ):
            raise WeChatSecurityError("a signed query used twice")
        if safe:
            if endpoint.envelope is None:
                raise WeChatSecurityError("safe mode without WECHAT_AES_KEY")
            encrypted = fields.get("Encrypt", "")
            if not signature_matches(
                request.query.get("msg_signature", ""), endpoint.token, timestamp, nonce, encrypted
            ):
                raise WeChatSecurityError("bad msg_signature")
            fields = parse_xml(endpoint.envelope.decrypt(encrypted).encode())
    except WeChatSecurityError as error:
        log.warning("WeChat: refused a request (%s)", error)
        raise web.HTTPBadRequest(text="bad request") from error
    answer = await endpoint.channel.receive(fields, endpoint.budget_seconds)
    if not answer:
        return web.Response(text="success")
    reply = to_xml(
        {
            "ToUserName": fields.get("FromUserName", ""),
            "FromUserName": fields.get("ToUserName", ""),
            "CreateTime": int(time.time()),
            "MsgType": "text",
            "Content": answer,
        }
    )
    if safe and endpoint.envelope is not None:
        reply = endpoint.envelope.sealed_reply(reply, str(int(time.time())), secrets.token_hex(8))
    return web.Response(text=reply, content_type="application/xml")


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, verify_url)
    app.router.add_post(PATH, receive)
