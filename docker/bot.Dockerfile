# Rasa server and action server (Python 3.10, rasa==3.6.21). Build context: the repository root.
# The same image runs either `rasa run` or `rasa run actions` (see docker-compose.yml).
FROM python:3.10-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app RASA_TELEMETRY_ENABLED=false
WORKDIR /app
COPY requirements/bot.txt requirements/bot.txt
RUN pip install --no-cache-dir -r requirements/bot.txt
COPY bot bot
COPY domain.yml ./
COPY data data
COPY actions actions
COPY backend/__init__.py backend/textnorm.py backend/
COPY config config
RUN rasa train --config bot/config.yml --domain domain.yml --data data --out models --fixed-model-name kefu
RUN useradd --uid 1001 --create-home kefu && chown -R kefu /app
USER 1001
