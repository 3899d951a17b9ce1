"""Matching: volunteers suited to a need, and the needs suited to a volunteer."""
