# campaigner serve in a container: every campaign file of /campaigns, run per its schedule.
#
#   docker build -t campaigner .
#   docker run -d --name campaigner --env-file exotel.env -p 8080:8080 \
#     -v "$PWD/campaigns:/campaigns" -v campaigner-state:/state campaigner \
#     serve /campaigns --public-url https://hooks.example.com/exotel
#
# Credentials come from the environment only (EXOTEL_API_KEY, EXOTEL_API_TOKEN,
# EXOTEL_ACCOUNT_SID, EXOTEL_REGION; CAMPAIGNER_STATUS_TOKEN for the status page), never
# from the image. Journals live beside the campaign files (each file's `state`, default
# .campaigner/), so mount /campaigns writable; the account budget and runner locks live
# in CAMPAIGNER_LOCK_DIR (/state). docker stop sends SIGTERM: no new calls, calls in
# flight are followed for --grace seconds: keep it under docker stop's timeout (10 s;
# `docker stop -t 90` with `--grace 60` for longer calls).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CAMPAIGNER_LOCK_DIR=/state/runners

# git: `serve --pull EVERY` runs `git pull --ff-only` in the campaigns folder
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# the exact versions the tests ran with (constraints.txt), the package as pyproject says
COPY pyproject.toml constraints.txt README.md ./
COPY campaigner ./campaigner
COPY templates ./templates
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home --uid 10001 campaigner \
    && mkdir -p /campaigns /state \
    && chown campaigner /campaigns /state

USER campaigner
WORKDIR /campaigns
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["campaigner"]
CMD ["serve", "/campaigns", "--listen", "0.0.0.0:8080", "--log-format", "json", "--grace", "8"]
