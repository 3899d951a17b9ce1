"""A local fake of WeChat, both sides of an Official Account:

* the API the bot calls (`WECHAT_API_URL`): `stable_token`, customer-service messages, template
  messages, the menu, parameter QR codes — with WeChat's refusals on demand (42001 once for an
  expired token, 45015 outside the 48-hour window, 40037 / 43004 for template messages);
* the server that calls the bot's callback URL: messages signed and, in safe mode, encrypted
  as WeChat does, each POST dropped after 5 s and retried, three tries in all.

What a user sees is recorded in order: passive replies and customer-service messages."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.wechat_crypto import Envelope, parse_xml, signature, to_xml

TOKEN = "wushe-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "fake-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_wushe_account"
TIMEOUT_SECONDS = 5.0
TRIES = 3


@dataclass
class Seen:
    """One thing a user saw: how it came and its text."""

    how: str  # passive | custom | template | image (its text: the media id)
    text: str


@dataclass
class FakeWeChat:
    safe_mode: bool = True
    timeout: float = TIMEOUT_SECONDS
    port: int = 0
    bot_url: str = ""
    seen: dict[str, list[Seen]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)  # every callback POST's outcome
    menus: list[Any] = field(default_factory=list)
    conditional_menus: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → body
    tags: dict[str, int] = field(default_factory=dict)  # user tag name → id
    user_tags: dict[str, set[int]] = field(default_factory=dict)  # openid → tag ids
    qrcodes: list[dict[str, Any]] = field(default_factory=list)  # qrcode/create bodies
    window_closed: set[str] = field(default_factory=set)
    templates: list[dict[str, Any]] = field(default_factory=list)  # template messages sent
    known_templates: set[str] = field(default_factory=set)  # empty: any template id is known
    not_following: set[str] = field(default_factory=set)  # template messages refused: 43004
    media: dict[str, bytes] = field(default_factory=dict)  # media ids people's photos have
    media_delay: float = 0.0  # seconds media/get takes: a slow dependency of a handler
    uploads: dict[str, bytes] = field(default_factory=dict)  # images the bot uploaded
    oauth_user: str = ""  # the openid of the person whose WeChat opens a web page
    oauth_codes: dict[str, str] = field(default_factory=dict)  # code → openid, used once
    tokens_issued: int = 0
    _expire_next: bool = False
    _valid_token: str = ""
    _runner: web.AppRunner | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(6_054_768_590))

    # ---- the API side

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        app.router.add_post("/cgi-bin/menu/addconditional", self._menu_add_conditional)
        app.router.add_post("/cgi-bin/menu/delconditional", self._menu_del_conditional)
        app.router.add_post("/cgi-bin/tags/create", self._tag_create)
        app.router.add_get("/cgi-bin/tags/get", self._tags_get)
        app.router.add_post("/cgi-bin/tags/members/batchtagging", self._tagging)
        app.router.add_post("/cgi-bin/tags/members/batchuntagging", self._tagging)
        app.router.add_post("/cgi-bin/qrcode/create", self._qrcode_create)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_get("/connect/oauth2/authorize", self._oauth_authorize)
        app.router.add_get("/sns/oauth2/access_token", self._oauth_access_token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def expire_token_once(self) -> None:
        """The next API call finds its token expired (42001), as after a token refresh by
        another client."""
        self._expire_next = True

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("appid") != APP_ID or body.get("secret") != APP_SECRET:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        if body.get("force_refresh") or not self._valid_token:
            self.tokens_issued += 1
            self._valid_token = f"token-{self.tokens_issued}-{secrets.token_hex(4)}"
        return web.json_response({"access_token": self._valid_token, "expires_in": 7200})

    def _token_refusal(self, request: web.Request) -> web.Response | None:
        if self._expire_next:
            self._expire_next = False
            self._valid_token = ""
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if request.query.get("access_token") != self._valid_token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return None

    async def _media_get(self, request: web.Request) -> web.Response:
        """The file itself, or WeChat's JSON error (40007: an unknown or expired media id)."""
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        await asyncio.sleep(self.media_delay)
        content = self.media.get(request.query.get("media_id", ""))
        if content is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=content, content_type="image/jpeg")

    async def _custom_send(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        body = await request.json()
        user = body["touser"]
        if user in self.window_closed:
            return web.json_response({"errcode": 45015, "errmsg": "response out of time limit"})
        if body.get("msgtype") == "image":
            media_id = body["image"]["media_id"]
            if media_id not in self.uploads:
                return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
            self.seen.setdefault(user, []).append(Seen("image", media_id))
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        self.seen.setdefault(user, []).append(Seen("custom", body["text"]["content"]))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _media_upload(self, request: web.Request) -> web.Response:
        """A temporary image for an image message (multipart field `media`): its media id."""
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        if request.query.get("type") != "image":
            return web.json_response({"errcode": 40004, "errmsg": "invalid media type"})
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return web.json_response({"errcode": 41005, "errmsg": "media data missing"})
        media_id = f"M-{secrets.token_hex(6)}"
        self.uploads[media_id] = media.file.read()
        return web.json_response({"type": "image", "media_id": media_id, "created_at": 1})

    async def _template_send(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        body = await request.json()
        if self.known_templates and body.get("template_id") not in self.known_templates:
            return web.json_response({"errcode": 40037, "errmsg": "invalid template_id"})
        if body["touser"] in self.not_following:
            return web.json_response({"errcode": 43004, "errmsg": "require subscribe"})
        self.templates.append(body)
        text = " ".join(str(v["value"]) for v in body.get("data", {}).values())
        self.seen.setdefault(body["touser"], []).append(Seen("template", text))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(self._ids)})

    async def _menu_create(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        self.menus.append((await request.json())["button"])
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _menu_add_conditional(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        body = await request.json()
        if not self.menus:  # WeChat: a conditional menu needs the default menu first
            return web.json_response({"errcode": 65303, "errmsg": "no default menu"})
        if int(body["matchrule"]["tag_id"]) not in self.tags.values():
            return web.json_response({"errcode": 40050, "errmsg": "invalid tag id"})
        menu_id = str(next(self._ids))
        self.conditional_menus[menu_id] = body
        return web.json_response({"menuid": menu_id})

    async def _menu_del_conditional(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        if self.conditional_menus.pop(str((await request.json())["menuid"]), None) is None:
            return web.json_response({"errcode": 65304, "errmsg": "menu not found"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _tag_create(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        name = (await request.json())["tag"]["name"]
        if name in self.tags:
            return web.json_response({"errcode": 45157, "errmsg": "invalid tag name"})
        if len(name.encode()) > 30 or len(self.tags) >= 100:
            return web.json_response({"errcode": 45158, "errmsg": "tag name too long"})
        self.tags[name] = 100 + len(self.tags)
        return web.json_response({"tag": {"id": self.tags[name], "name": name}})

    async def _tags_get(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        listed = [{"id": i, "name": n, "count": 0} for n, i in self.tags.items()]
        return web.json_response({"tags": listed})

    async def _tagging(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        body = await request.json()
        tag = int(body["tagid"])
        if tag not in self.tags.values():
            return web.json_response({"errcode": 45159, "errmsg": "invalid tag"})
        for openid in body["openid_list"]:
            tags = self.user_tags.setdefault(openid, set())
            if request.path.endswith("batchuntagging"):
                tags.discard(tag)
            elif len(tags) >= 20:
                return web.json_response({"errcode": 45059, "errmsg": "too many tags"})
            else:
                tags.add(tag)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def menu_of(self, openid: str) -> list[Any]:
        """The menu a user sees: the newest conditional menu matching one of their tags,
        else the default menu."""
        tags = self.user_tags.get(openid, set())
        for body in reversed(self.conditional_menus.values()):
            if int(body["matchrule"]["tag_id"]) in tags:
                return list(body["button"])
        return self.menus[-1] if self.menus else []

    async def _oauth_authorize(self, request: web.Request) -> web.Response:
        """WeChat's authorize page inside WeChat's browser: snsapi_base asks nothing and
        sends the browser back with a code for the person who opened it."""
        query = request.query
        if query.get("appid") != APP_ID or query.get("scope") != "snsapi_base":
            return web.Response(status=400, text="invalid appid or scope")
        if query.get("response_type") != "code" or not self.oauth_user:
            return web.Response(status=400, text="not in WeChat")
        code = secrets.token_hex(8)
        self.oauth_codes[code] = self.oauth_user
        target = f"{query['redirect_uri']}?code={code}&state={query.get('state', '')}"
        raise web.HTTPFound(target)

    async def _oauth_access_token(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        if query.get("grant_type") != "authorization_code":
            return web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        openid = self.oauth_codes.pop(query.get("code", ""), None)
        if openid is None:  # unknown or used (a code works once, for 5 minutes)
            return web.json_response({"errcode": 40029, "errmsg": "invalid code"})
        return web.json_response(
            {
                "access_token": secrets.token_hex(8),
                "expires_in": 7200,
                "refresh_token": secrets.token_hex(8),
                "openid": openid,
                "scope": "snsapi_base",
            }
        )

    async def _qrcode_create(self, request: web.Request) -> web.Response:
        refused = self._token_refusal(request)
        if refused is not None:
            return refused
        body = await request.json()
        self.qrcodes.append(body)
        scene = body["action_info"]["scene"]["scene_str"]
        return web.json_response({"ticket": f"T-{scene}", "url": f"http://weixin.qq.com/q/{scene}"})

    # ---- the side that calls the bot

    def screens(self, openid: str) -> list[str]:
        return [s.text for s in self.seen.get(openid, [])]

    def last(self, openid: str) -> str:
        screens = self.screens(openid)
        return screens[-1] if screens else ""

    async def wait_for(self, openid: str, contains: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in reversed(self.screens(openid)):
                if contains in text:
                    return text
            await asyncio.sleep(0.05)
        raise AssertionError(f"{openid} never saw {contains!r}; saw {self.screens(openid)}")

    def _message(self, openid: str, msg_type: str, **fields: str | int) -> dict[str, str | int]:
        message: dict[str, str | int] = {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": int(time.time()),
            "MsgType": msg_type,
            **fields,
        }
        if msg_type != "event":
            message["MsgId"] = next(self._ids)
        return message

    async def user_sends(self, openid: str, text: str) -> str:
        return await self.deliver(self._message(openid, "text", Content=text))

    async def user_event(self, openid: str, event: str, key: str = "") -> str:
        fields: dict[str, str | int] = {"Event": event}
        if key:
            fields["EventKey"] = key
        return await self.deliver(self._message(openid, "event", **fields))

    async def user_photo(self, openid: str, content: bytes | None) -> str:
        """An image message; None: its media id has expired (WeChat keeps them 3 days)."""
        media_id = secrets.token_hex(8)
        if content is not None:
            self.media[media_id] = content
        url = f"http://mmbiz.qpic.cn/{media_id}"
        return await self.deliver(self._message(openid, "image", PicUrl=url, MediaId=media_id))

    async def user_location(self, openid: str, gcj_lat: float, gcj_lng: float) -> str:
        message = self._message(
            openid,
            "location",
            Location_X=f"{gcj_lat:.6f}",
            Location_Y=f"{gcj_lng:.6f}",
            Scale=15,
            Label="",
        )
        return await self.deliver(message)

    def signed_request(self, message: dict[str, str | int]) -> tuple[dict[str, str], str]:
        """The query and body WeChat would POST for a message."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {
            "signature": signature(TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": str(message["FromUserName"]),
        }
        plain = to_xml(message)
        if not self.safe_mode:
            return query, plain
        encrypted = Envelope(TOKEN, AES_KEY, APP_ID).encrypt(plain)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature(TOKEN, timestamp, nonce, encrypted)
        return query, to_xml({"ToUserName": ACCOUNT, "Encrypt": encrypted})

    async def deliver(self, message: dict[str, str | int]) -> str:
        """POST like WeChat: dropped after 5 s and retried with the same message, three tries
        in all. Returns what the user sees from the passive reply ("" for `success`)."""
        openid = str(message["FromUserName"])
        async with aiohttp.ClientSession() as http:
            for attempt in range(1, TRIES + 1):
                query, body = self.signed_request(message)
                try:
                    async with http.post(
                        f"{self.bot_url}/wechat",
                        params=query,
                        data=body.encode(),
                        headers={"Content-Type": "text/xml"},
                        timeout=aiohttp.ClientTimeout(total=self.timeout),
                    ) as response:
                        status, text = response.status, await response.text()
                except TimeoutError:
                    self.posts.append({"try": attempt, "outcome": "timeout"})
                    continue
                self.posts.append({"try": attempt, "outcome": status})
                if status != 200:
                    return ""
                return self._passive(openid, text, query)
        # After three failures WeChat shows the user this.
        self.seen.setdefault(openid, []).append(Seen("passive", "该公众号暂时无法提供服务"))
        return "该公众号暂时无法提供服务"

    def _passive(self, openid: str, body: str, query: dict[str, str]) -> str:
        if body in ("", "success"):
            return ""
        fields = parse_xml(body.encode())
        if "Encrypt" in fields:
            assert fields["MsgSignature"] == signature(
                TOKEN, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]
            ), "the reply's signature does not match"
            fields = parse_xml(Envelope(TOKEN, AES_KEY, APP_ID).decrypt(fields["Encrypt"]).encode())
        assert fields["ToUserName"] == openid and fields["MsgType"] == "text"
        self.seen.setdefault(openid, []).append(Seen("passive", fields["Content"]))
        return fields["Content"]
