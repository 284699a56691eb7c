# ringsight API image: python:3.11-slim, installed with `pip install .`, run as a non-root user.
# Built by docker-compose.yml (`docker compose up --build`); the graph lives in the neo4j service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --system --gid 10001 ringsight \
    && useradd --system --uid 10001 --gid ringsight --create-home --home-dir /home/ringsight ringsight

WORKDIR /src
# Metadata first so that a code change does not invalidate the dependency layer.
COPY pyproject.toml README.md ./
COPY graph ./graph
COPY detectors ./detectors
COPY api ./api
COPY fixtures ./fixtures
RUN pip install . && rm -rf /src

USER ringsight
WORKDIR /home/ringsight
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]

CMD ["ringsight", "serve", "--host", "0.0.0.0", "--port", "8000"]
