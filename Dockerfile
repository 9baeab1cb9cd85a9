# Dockerfile -- one image for every Fly role (fly/*.toml): the same `redbench` binary, built
# in a Debian stage with the project's Makefile. Targets: runtime (runner, worker, target,
# single) and collector (runtime + Litestream). fly/entrypoint.sh picks the role.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc make libc6-dev libsqlite3-dev libmicrohttpd-dev libcjson-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*
# The binary finds its templates at the absolute path it was built in (RB_WEBDIR).
WORKDIR /opt/redbench
COPY Makefile ./
COPY scripts scripts
COPY migrations migrations
COPY lib lib
COPY runner runner
COPY collector collector
COPY analyzer analyzer
COPY main.c commands.h ./
RUN make BUILD=build build/redbench

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libmicrohttpd12 libcjson1 libhiredis0.14 redis-server redis-tools \
      ca-certificates curl iproute2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/redbench/build/redbench /usr/local/bin/redbench
COPY web /opt/redbench/web
COPY docs /opt/redbench/docs
COPY fly/entrypoint.sh /usr/local/bin/redbench-entrypoint
ENTRYPOINT ["redbench-entrypoint"]
CMD ["help"]

FROM runtime AS collector
COPY --from=litestream/litestream:0.3.13 /usr/local/bin/litestream /usr/local/bin/litestream
COPY fly/litestream.yml /etc/litestream.yml
VOLUME /data
EXPOSE 8080
CMD ["collector"]
