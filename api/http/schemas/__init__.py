"""Request and response bodies of the HTTP API, one module per resource area (the
application record itself is :class:`graph.records.ApplicationRecord`). Every route answers
one of these models, so generated clients get named types; errors are
:class:`~api.http.schemas.problems.Problem`. What several areas share (the named enums, the
rule for a written reason) is in ``common``."""
