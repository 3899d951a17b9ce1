"""`python -m bot wechat-qr <payload>`: a parameter QR code made through WeChat's
`qrcode/create` (the fake WeChat), temporary or permanent."""

from __future__ import annotations

import pytest

from bot import cli
from bot.__main__ import _parser
from bot.config import load_settings
from tests.support import fake_wechat
from tests.support.fake_wechat import FakeWeChat


async def qr(fake: FakeWeChat, *argv: str) -> int:
    settings = load_settings(
        database_url="sqlite+aiosqlite:///:memory:",
        secret_key="qr-test-secret",
        wechat_token=fake_wechat.TOKEN,
        wechat_app_id=fake_wechat.APP_ID,
        wechat_app_secret=fake_wechat.APP_SECRET,
        wechat_api_url=fake.api_url,
    )
    return await cli.dispatch(_parser().parse_args(["wechat-qr", *argv]), settings)


async def test_a_qr_code_for_a_payload_is_made_temporary_or_permanent(
    wechat: FakeWeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await qr(wechat, "checkin_42") == 0
    assert capsys.readouterr().out.strip() == "http://weixin.qq.com/q/checkin_42"
    temporary = wechat.qrcodes[-1]
    assert temporary["action_name"] == "QR_STR_SCENE" and temporary["expire_seconds"] > 0
    assert temporary["action_info"]["scene"]["scene_str"] == "checkin_42"
    assert await qr(wechat, "invite_7", "--permanent") == 0
    permanent = wechat.qrcodes[-1]
    assert permanent["action_name"] == "QR_LIMIT_STR_SCENE" and "expire_seconds" not in permanent
    assert permanent["action_info"]["scene"]["scene_str"] == "invite_7"
