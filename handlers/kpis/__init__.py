"""KPIs: /stats, /export and the dashboard links of a unit's indicators."""
