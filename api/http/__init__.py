"""The HTTP API: the FastAPI application (``app``), its request dependencies (``deps``),
domain errors as problem responses (``errors``), the body-size limit (``body_limit``), the
routes under /v1 (``routes/``, one module per resource), the request and response bodies
(``schemas``) and what a scoring answer may show to a scorer key (``disclosure``)."""
