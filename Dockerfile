# One image for every service; the command picks which one runs (see docker-compose.yml).

# The console's NHS.UK frontend assets, from the npm registry, pinned by the committed lock file.
FROM node:20-slim AS assets
WORKDIR /frontend
COPY services/console/frontend/package.json services/console/frontend/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY services ./services
COPY ttg ./ttg
RUN pip install . && useradd --uid 10001 --no-create-home ttg
COPY deploy ./deploy
COPY --from=assets /frontend/node_modules/nhsuk-frontend /app/frontend/node_modules/nhsuk-frontend

USER 10001
EXPOSE 8000
CMD ["python", "-m", "services.release_events"]
