"""Channels: thin adapters that parse a platform's input, call the conversation service and render."""
