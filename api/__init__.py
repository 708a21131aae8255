"""FastAPI layer: customer channels, the conversation router and the business REST API."""
