"""Needs (求助): a resident files and follows a request; workers triage and handle it."""
