"""Organisations: /org (register, invite) and /orgs (the workers' verification)."""
