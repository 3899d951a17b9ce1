"""The social-work talent pipeline: /training, /mytraining and the certificates."""
