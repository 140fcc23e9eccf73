"""The signed-in user's own settings (API keys) and the cached authentication backend."""
