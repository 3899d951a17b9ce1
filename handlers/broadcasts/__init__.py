"""Broadcasts: composing, previewing, controlling and opening a broadcast; /settings."""
