"""Test doubles and benchmark harnesses, never on the runtime path: only CLI benches and tests import them."""
