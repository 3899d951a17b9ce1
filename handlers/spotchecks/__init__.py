"""Spot checks (/spotcheck): a random sample of confirmed records, marked and exported."""
