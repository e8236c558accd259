"""Telegram channel: python-telegram-bot handlers, rendering and admin commands."""
