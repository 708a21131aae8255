"""rasa_sdk action server code: one module per capability over one shared backend client."""
