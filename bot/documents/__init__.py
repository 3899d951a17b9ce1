"""Printable documents the bot issues (PDF). Pure rendering: no database, no chat platform."""

from bot.documents.certificate import (
    CertificateData,
    FontNotAvailableError,
    ServiceLine,
    format_hours,
    render_certificate,
)

__all__ = [
    "CertificateData",
    "FontNotAvailableError",
    "ServiceLine",
    "format_hours",
    "render_certificate",
]
