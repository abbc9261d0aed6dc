# syntax=docker/dockerfile:1
# Build stage: durable-rules compiles C, so the compiler lives here only.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY buckles ./buckles
COPY service ./service
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: no compiler, a non-root user.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app connector
WORKDIR /app
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY rules ./rules
RUN mkdir -p /app/data && chown connector /app/data
USER connector
ENV CONNECTOR_SERVER__LISTEN=0.0.0.0:50051 \
    CONNECTOR_SERVER__METRICS_LISTEN=0.0.0.0:9464 \
    CONNECTOR_STORE__URL=sqlite+aiosqlite:////app/data/connector.sqlite3 \
    CONNECTOR_RULES__PATH=/app/rules
EXPOSE 50051 9464
# Plaintext: with server.tls_cert_file set, give the check --tls --ca-file,
# --cert-file/--key-file when client certificates are required, and
# --server-name when the certificate does not name 127.0.0.1 (with
# `docker run --health-cmd` or a HEALTHCHECK in a derived image).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["boltrics-connector", "health", "--address", "127.0.0.1:50051"]
# `python -m service` rather than the console script: the parsing worker then
# imports only the parsers, not the command line (see service/adapters/parsing.py).
ENTRYPOINT ["python", "-m", "service"]
CMD ["serve"]
