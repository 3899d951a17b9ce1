"""The person's rights in chat: consents, a copy of their data, erasure, the access log."""
