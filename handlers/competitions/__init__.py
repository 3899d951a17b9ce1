"""Competitions and micro-grants: calls, proposals, reviews, the vote and the ranking."""
