"""Temporary: the outbox sender moved to bot/channels/telegram/sender.py. This name stays only
until tests/e2e/test_outbox_sender.py (edited elsewhere) imports the new one; then delete it."""

from bot.channels.telegram.sender import OutboxSender as OutboxSender

__all__ = ["OutboxSender"]
