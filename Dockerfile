# One image for every stage: `yuqing worker STAGE` picks the process.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 YUQING_DATA_DIR=/var/lib/yuqing
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY yuqing ./yuqing
COPY crawlers ./crawlers
COPY nlp ./nlp
COPY incidents ./incidents
COPY indexer ./indexer
COPY alerting ./alerting
COPY api ./api
COPY response_playbooks ./response_playbooks
COPY reports ./reports
# reports: WeasyPrint draws PDFs through Pango; the Noto CJK fonts are embedded in them
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
# the candidate-search loop (incidents/row_kernel.py) is compiled here once, into numba's cache
RUN pip install -c constraints.txt . \
 && python -c "from incidents.vectors import Rows; Rows(1)" \
 && useradd --system --home /var/lib/yuqing yuqing \
 && mkdir -p /var/lib/yuqing && chown yuqing /var/lib/yuqing

USER yuqing
EXPOSE 8000
ENTRYPOINT ["yuqing"]
CMD ["worker", "api"]
