# One image for every service; the command picks which one runs (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY services ./services
COPY ttg ./ttg
RUN pip install . && useradd --uid 10001 --no-create-home ttg
COPY deploy ./deploy

USER 10001
EXPOSE 8000
CMD ["python", "-m", "services.release_events"]
