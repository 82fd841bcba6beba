"""The bot: one set of handlers for webhook and long polling (consent, questionnaire, /stop, /forget, /mydata)."""
