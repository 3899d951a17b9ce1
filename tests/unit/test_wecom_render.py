"""A WeCom alert's markdown: parameters carry no markup of their own, and the message stays
within WeCom's 4,096 bytes."""

from bot.channels.wecom import MAX_MARKDOWN, render
from bot.config import load_settings
from bot.i18n import make_i18n


def test_a_parameter_cannot_add_markdown_and_the_text_fits_wecom() -> None:
    i18n = make_i18n("zh")
    params = {"title": '**全部** <font color="warning">[链接](http://x)</font>' + "停" * 3000}
    params |= {"sent": 10, "failed": 2}
    with i18n.context(), i18n.use_locale("zh"):
        text = render("broadcast.failed", params, "zh", load_settings())
    assert text.startswith("**有一条群发消息未送达所有人**")
    assert "**全部**" not in text and "<font" not in text and "](" not in text
    assert len(text.encode()) <= MAX_MARKDOWN
    assert "已送达：10，失败：2" in text
