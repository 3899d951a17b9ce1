"""Alerts: /robot sets the WeCom group robot that workers' alerts go to."""
