"""The bot: one aiogram 3 router (consent, questionnaire, /stop, /forget, /mydata) for webhook and long polling."""
