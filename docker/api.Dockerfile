# api/ + backend/ (FastAPI, SQLAlchemy 2). Build context: the repository root.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
WORKDIR /app
COPY requirements/api.txt requirements/api.txt
RUN pip install --no-cache-dir -r requirements/api.txt
COPY alembic.ini ./
COPY backend backend
COPY api api
COPY config config
RUN useradd --uid 1001 --create-home kefu && mkdir -p var && chown kefu var
USER 1001
EXPOSE 8000
CMD ["sh", "-c", "python -m backend.manage init && uvicorn api.main:app --host 0.0.0.0 --port 8000 --proxy-headers"]
