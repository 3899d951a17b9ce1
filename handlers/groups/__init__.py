"""Group chats: what the bot does in a workers' or residents' group."""
