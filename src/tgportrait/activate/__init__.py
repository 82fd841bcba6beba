"""Activate: side effects towards people (the Telegram Bot API client) and their measurement (holdouts, uplift)."""
