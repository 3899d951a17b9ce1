"""WeChat Official Account API calls the bot makes: the access token (stable_token, so several
processes each caching their own token never invalidate each other's), customer-service
messages, template messages, the menu and parameter QR codes."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

log = logging.getLogger(__name__)

TOKEN_EXPIRED = frozenset({40001, 40014, 42001})  # invalid / expired access token
WINDOW_CLOSED = 45015  # the 48-hour customer-service window is closed
TOO_MANY = 45047  # too many customer-service messages since the user's last message
NO_PERMISSION = 48001  # the account lacks the API (e.g. not a verified 服务号)
TAG_EXISTS = 45157  # a user tag of that name exists already
TOKEN_MARGIN_SECONDS = 300
FORCE_INTERVAL_SECONDS = 30.0  # WeChat refuses forced refreshes closer together
# Where a parameter QR code's image is shown, by its ticket (no access token needed).
SHOW_QRCODE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"


@dataclass(frozen=True)
class SceneCode:
    """A parameter QR code: `content` is what the code encodes (to draw it), `shown` the page
    that shows WeChat's own image of it (to open from a chat)."""

    content: str
    shown: str


class WeChatApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class WeChatApi:
    def __init__(self, base_url: str, app_id: str, app_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self._token: tuple[str, float] | None = None
        self._forced_at = -FORCE_INTERVAL_SECONDS
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def token(self, *, rejected: str | None = None) -> str:
        """The access token. After WeChat rejected one, the stable token is asked for again
        (another process may have refreshed it); only if WeChat still hands out the rejected
        one is a refresh forced — at most once every 30 s, as WeChat allows."""
        async with self._lock:
            cached = self._token
            if cached and cached[0] != rejected and cached[1] > time.monotonic():
                return cached[0]
            token = await self._fetch(force=False)
            now = time.monotonic()
            if token == rejected and now - self._forced_at >= FORCE_INTERVAL_SECONDS:
                self._forced_at = now
                token = await self._fetch(force=True)
            return token

    async def _fetch(self, *, force: bool) -> str:
        body = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self.app_secret,
            "force_refresh": force,
        }
        async with self._http().post(f"{self.base_url}/cgi-bin/stable_token", json=body) as r:
            answer = await r.json(content_type=None)
        if "access_token" not in answer:
            raise WeChatApiError(int(answer.get("errcode", -1)), str(answer.get("errmsg")))
        lifetime = max(60, int(answer.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS)
        self._token = (str(answer["access_token"]), time.monotonic() + lifetime)
        return self._token[0]

    async def call(self, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        """POST with the access token (GET without a payload); an expired token is refreshed
        once and the call retried. Errors raise WeChatApiError with WeChat's code."""
        rejected: str | None = None
        for attempt in range(2):
            token = await self.token(rejected=rejected)
            url = f"{self.base_url}/cgi-bin/{path}"
            method = "GET" if payload is None else "POST"
            params = {"access_token": token}
            async with self._http().request(method, url, params=params, json=payload) as r:
                answer: dict[str, Any] = await r.json(content_type=None)
            code = int(answer.get("errcode", 0) or 0)
            if code in TOKEN_EXPIRED and attempt == 0:
                rejected = token
                continue
            if code:
                raise WeChatApiError(code, str(answer.get("errmsg", "")))
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    async def media(self, media_id: str, limit: int) -> bytes:
        """A temporary media file a person sent (kept by WeChat for 3 days): its bytes, at
        most `limit`. An error answers JSON instead of the file."""
        rejected: str | None = None
        for attempt in range(2):
            token = await self.token(rejected=rejected)
            url = f"{self.base_url}/cgi-bin/media/get"
            params = {"access_token": token, "media_id": media_id}
            async with self._http().get(url, params=params) as r:
                if not r.content_type.startswith("image/"):
                    answer = await r.json(content_type=None)
                    code = int(answer.get("errcode", -1) or -1)
                    if code in TOKEN_EXPIRED and attempt == 0:
                        rejected = token
                        continue
                    raise WeChatApiError(code, str(answer.get("errmsg", "")))
                content = await r.content.read(limit + 1)
            if len(content) > limit:
                raise WeChatApiError(-2, "the file is too big")
            return content
        raise AssertionError("unreachable")  # pragma: no cover

    async def oauth_openid(self, code: str) -> str:
        """The openid behind a web page's OAuth `code` (snsapi_base: no consent screen, the
        person's openid only). A used or unknown code raises WeChatApiError (40029, 40163)."""
        params = {
            "appid": self.app_id,
            "secret": self.app_secret,
            "code": code,
            "grant_type": "authorization_code",
        }
        url = f"{self.base_url}/sns/oauth2/access_token"
        async with self._http().get(url, params=params) as r:
            answer = await r.json(content_type=None)
        if not answer.get("openid"):
            raise WeChatApiError(int(answer.get("errcode", -1)), str(answer.get("errmsg", "")))
        return str(answer["openid"])

    async def send_text(self, openid: str, text: str) -> None:
        await self.call(
            "message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}}
        )

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, str], url: str | None = None
    ) -> None:
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            payload["url"] = url
        await self.call("message/template/send", payload)

    async def create_menu(self, buttons: list[dict[str, Any]]) -> None:
        await self.call("menu/create", {"button": buttons})

    # ---- per-role menus: a user tag per menu, a conditional menu matching the tag

    async def tag_id(self, name: str) -> int:
        """The id of the user tag `name`, made if the account has none yet."""
        try:
            answer = await self.call("tags/create", {"tag": {"name": name}})
            return int(answer["tag"]["id"])
        except WeChatApiError as error:
            if error.code != TAG_EXISTS:
                raise
        tags = (await self.call("tags/get", None)).get("tags") or []
        for tag in tags:
            if tag.get("name") == name:
                return int(tag["id"])
        raise WeChatApiError(TAG_EXISTS, "the tag exists but is not listed")

    async def tag_users(self, tag_id: int, openids: list[str], *, untag: bool = False) -> None:
        path = "tags/members/batchuntagging" if untag else "tags/members/batchtagging"
        await self.call(path, {"openid_list": openids, "tagid": tag_id})

    async def add_conditional_menu(self, buttons: list[dict[str, Any]], tag_id: int) -> str:
        """A menu only the users with the tag see: its menu id."""
        answer = await self.call(
            "menu/addconditional", {"button": buttons, "matchrule": {"tag_id": str(tag_id)}}
        )
        return str(answer.get("menuid", ""))

    async def delete_conditional_menu(self, menu_id: str) -> None:
        await self.call("menu/delconditional", {"menuid": menu_id})

    async def scene_qrcode(
        self, scene: str, seconds: int = 2_592_000, *, permanent: bool = False
    ) -> str:
        """A parameter QR code's URL (`qrscene_<scene>` on subscribe, the scene on SCAN):
        temporary (QR_STR_SCENE, 30 days at most) or permanent (QR_LIMIT_STR_SCENE)."""
        return (await self.scene_code(scene, seconds, permanent=permanent)).content

    async def scene_code(
        self, scene: str, seconds: int = 2_592_000, *, permanent: bool = False
    ) -> SceneCode:
        if len(scene) > 64:
            raise ValueError("a QR code's scene is at most 64 characters")
        payload: dict[str, Any] = {
            "action_name": "QR_LIMIT_STR_SCENE" if permanent else "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        if not permanent:
            payload["expire_seconds"] = seconds
        answer = await self.call("qrcode/create", payload)
        ticket = str(answer.get("ticket", ""))
        return SceneCode(
            content=str(answer.get("url") or ""),
            shown=f"{SHOW_QRCODE_URL}?{urlencode({'ticket': ticket})}",
        )

    async def upload_image(self, content: bytes, filename: str) -> str:
        """A temporary image (kept by WeChat for 3 days) for an image message: its media id."""
        rejected: str | None = None
        for attempt in range(2):
            token = await self.token(rejected=rejected)
            form = aiohttp.FormData()
            form.add_field("media", content, filename=filename, content_type="image/png")
            url = f"{self.base_url}/cgi-bin/media/upload"
            params = {"access_token": token, "type": "image"}
            async with self._http().post(url, params=params, data=form) as r:
                answer = await r.json(content_type=None)
            code = int(answer.get("errcode", 0) or 0)
            if code in TOKEN_EXPIRED and attempt == 0:
                rejected = token
                continue
            if code or not answer.get("media_id"):
                raise WeChatApiError(code or -1, str(answer.get("errmsg", "")))
            return str(answer["media_id"])
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_image(self, openid: str, media_id: str) -> None:
        await self.call(
            "message/custom/send",
            {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}},
        )
