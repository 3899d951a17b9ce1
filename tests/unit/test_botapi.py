"""Telegram's rules shared by every channel that is not Telegram (bot/channels/botapi.py): the
refusals in Telegram's words, formatted text, keyboards and edits. The fake Telegram answers
with the same functions; tests/e2e/test_fake_telegram.py checks them against aiogram itself."""

from __future__ import annotations

import pytest

from bot.channels.botapi import (
    MAX_CAPTION,
    MAX_TEXT,
    ApiRefusal,
    apply_changes,
    checked_markup,
    command_entities,
    editable,
    format_text,
    formatted,
    query_is_too_old,
    reply_keys,
)


def refused(error: pytest.ExceptionInfo[ApiRefusal]) -> tuple[int, str]:
    return error.value.code, error.value.description


def test_a_text_is_parsed_trimmed_and_its_entities_found_as_telegram_does() -> None:
    text, entities = formatted("  <b>a &amp; b</b> /start  ", "HTML")
    assert text == "a & b /start"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 5},
        {"type": "bot_command", "offset": 6, "length": 6},
    ]


def test_an_empty_text_and_a_long_one_are_refused_a_caption_may_be_empty() -> None:
    with pytest.raises(ApiRefusal) as error:
        formatted("<b></b>", "HTML")
    assert refused(error) == (400, "Bad Request: message text is empty")
    with pytest.raises(ApiRefusal) as error:
        formatted("x" * (MAX_TEXT + 1), None)
    assert refused(error) == (400, "Bad Request: message is too long")
    assert formatted("", "HTML", caption=True) == ("", [])
    with pytest.raises(ApiRefusal) as error:
        formatted("x" * (MAX_CAPTION + 1), None, caption=True)
    assert refused(error) == (400, "Bad Request: message caption is too long")


def test_html_telegram_cannot_parse_is_refused_in_its_words() -> None:
    with pytest.raises(ApiRefusal) as error:
        format_text("<p>hi</p>", "HTML")
    assert error.value.description == (
        'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0'
    )
    with pytest.raises(ApiRefusal, match="Can't find end tag corresponding to start tag"):
        format_text("<b>open", "HTML")


def test_a_link_that_cannot_be_read_is_no_link() -> None:
    assert format_text('<a href="http://[x">t</a>', "HTML") == ("t", [])


@pytest.mark.parametrize("data", ["", "x" * 65, "长" * 22])
def test_callback_data_must_be_1_to_64_bytes(data: str) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": data}]]}
    with pytest.raises(ApiRefusal) as error:
        checked_markup(markup)
    assert refused(error) == (400, "Bad Request: BUTTON_DATA_INVALID")


def test_a_markup_is_the_messages_keyboard_or_a_change_of_the_chats() -> None:
    inline = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}], []]}
    assert checked_markup(inline) == (
        {"inline_keyboard": [[inline["inline_keyboard"][0][0]]]},
        None,
    )
    keyboard = {"keyboard": [[{"text": "Yes"}]]}
    assert checked_markup(keyboard) == (None, keyboard)
    assert checked_markup({"remove_keyboard": True}) == (None, {})
    with pytest.raises(ApiRefusal, match="inline keyboard expected"):
        checked_markup(keyboard, inline_only=True)
    with pytest.raises(ApiRefusal, match="Text buttons are unallowed"):
        checked_markup({"inline_keyboard": [[{"text": "Go"}]]})


def test_reply_keys_leave_out_what_only_telegram_can_share() -> None:
    markup = {
        "keyboard": [
            [{"text": "📞 Share", "request_contact": True}],
            [{"text": "📍 Here", "request_location": True}, "No"],
        ]
    }
    assert reply_keys(markup) == [
        [{"text": "📍 Here", "request_location": True}, {"text": "No", "request_location": False}]
    ]
    assert reply_keys({"inline_keyboard": []}) is None


def test_an_edit_that_changes_nothing_is_refused() -> None:
    message = {"message_id": 5, "from": {"is_bot": True}, "text": "a", "reply_markup": {"k": 1}}
    with pytest.raises(ApiRefusal, match="message is not modified: specified new message"):
        apply_changes(dict(message), {"text": "a", "reply_markup": {"k": 1}})
    edited = apply_changes(dict(message), {"text": "a", "reply_markup": None})
    assert "reply_markup" not in edited


def test_only_the_bots_own_message_can_be_edited() -> None:
    with pytest.raises(ApiRefusal, match="message to edit not found"):
        editable(None)
    with pytest.raises(ApiRefusal, match="message can't be edited"):
        editable({"message_id": 1, "from": {"is_bot": False}})


def test_the_refusals_body_is_the_bot_apis() -> None:
    assert query_is_too_old().body() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: query is too old and response timeout expired or query "
        "ID is invalid",
    }
    assert ApiRefusal(429, "Too Many Requests: retry after 3", retry_after=3).body() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }


def test_a_command_at_the_start_is_marked_for_the_dispatcher() -> None:
    assert command_entities("/start abc") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert command_entities("hello /start") is None
