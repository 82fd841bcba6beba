"""The web server: FastAPI app factory, one router per resource (webhook, tracked links, health)."""
