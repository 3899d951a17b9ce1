"""Funds (/funds, /spend): statements, donations, allocations and spending."""
