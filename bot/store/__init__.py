"""Conversation log (SQLAlchemy + Alembic), PII redaction and training-data export."""
