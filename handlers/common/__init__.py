"""What the feature routers share: the errors and fallback routers, /help /me /cancel, the
RouteTable, keyboards, texts and the steps many conversations use."""
