"""The web channel: a chat widget any site can embed, and the admin console, on one Starlette app."""
