"""The HTTP service, its authentication, the CLI and the settings."""
