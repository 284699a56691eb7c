"""The fraud desk's services: what the HTTP routes and CLI commands call."""
