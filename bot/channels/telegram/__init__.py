"""What only the Bot API channels need: the notifier, the outbox sender, the emergency header
(a session middleware) and the command menu."""
