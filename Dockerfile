# smscd in a container: `docker build -t smscd . && docker run -p 2775:2775 smscd`
# Mount your own settings on /etc/smscd/smscd.yaml and a volume on /var/lib/smscd.
FROM python:3.11-slim

RUN useradd --system --home-dir /var/lib/smscd --create-home --shell /usr/sbin/nologin smscd

WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY smscd ./smscd
COPY connectors ./connectors
COPY routing ./routing
RUN pip install --no-cache-dir . && rm -rf /src

# The documented defaults, except that a container must listen beyond its own loopback.
COPY conf/smscd.yaml /etc/smscd/smscd.yaml
RUN sed -i 's/^  host: 127\.0\.0\.1$/  host: 0.0.0.0/' /etc/smscd/smscd.yaml \
    && grep -q '^  host: 0\.0\.0\.0$' /etc/smscd/smscd.yaml \
    && smscd config check /etc/smscd/smscd.yaml

USER smscd
WORKDIR /var/lib/smscd
ENV SMSCD_DATA_DIR=/var/lib/smscd PYTHONUNBUFFERED=1
VOLUME /var/lib/smscd
# SMPP, HTTP API, admin shell
EXPOSE 2775 1401 8990
ENTRYPOINT ["smscd"]
CMD ["run", "--config", "/etc/smscd/smscd.yaml"]
