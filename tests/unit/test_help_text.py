"""/help's text is assembled once per language and set of roles: a kept text never answers
another language, another set of roles or someone not known yet."""

from __future__ import annotations

from aiogram.utils.i18n import I18n

from bot.domain.enums import Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.i18n import LOCALES_DIR
from handlers.common.everyone import help_text

I18N = I18n(path=LOCALES_DIR, default_locale="zh")


def person(*roles: Role, superadmin: bool = False) -> Principal:
    grants = tuple(Grant(role, ScopeLevel.COMMUNITY, 1) for role in roles)
    return Principal(1, "zh", grants=grants, is_superadmin=superadmin)


def help_in(locale: str, principal: Principal | None) -> str:
    with I18N.context(), I18N.use_locale(locale):
        return help_text(principal)


def test_the_kept_text_follows_the_language_and_the_roles() -> None:
    resident = person(Role.RESIDENT)
    worker = person(Role.RESIDENT, Role.COMMUNITY_WORKER)
    chinese = help_in("zh", resident)
    assert chinese.startswith("您可以使用以下功能：")
    assert help_in("en", resident).startswith("Here is what you can do:")
    assert help_in("zh", resident) == chinese  # the kept one, in the same words
    assert "/queue" not in chinese and "/queue" in help_in("zh", worker)
    assert "/grant" not in help_in("zh", worker)
    assert "/grant" in help_in("zh", person(Role.RESIDENT, superadmin=True))
    assert "/grant" not in help_in("zh", None) and "/need" in help_in("zh", None)
