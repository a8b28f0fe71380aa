# chat-server in a container. Build: docker build -t chat-server .
# Run:   docker run -p 7777:7777 -p 127.0.0.1:9100:9100 -v chat-data:/var/lib/chat/data chat-server
# Port 9100 serves /metrics (Prometheus), /healthz and /readyz; it has no authentication, so
# publish it only where the scraper can reach it.
# The build stage runs the same steps as the README: scripts/install-deps.sh, then the Release preset.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake --preset release -DCHAT_BUILD_TESTS=OFF \
 && cmake --build --preset release --target chat-server chat-client \
 && strip build/release/server/chat-server build/release/client/chat-client

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libprotobuf32 libspdlog1.10 libfmt9 libtomlplusplus3 \
      libsqlite3-0 libsodium23 libreadline8 libssl3 libhiredis0.14 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/chat --shell /usr/sbin/nologin chat
COPY --from=build /src/build/release/server/chat-server /usr/local/bin/chat-server
# The terminal client too: docker run -it --entrypoint chat-client chat-server --server HOST:7777
COPY --from=build /src/build/release/client/chat-client /usr/local/bin/chat-client
USER chat
WORKDIR /var/lib/chat
RUN mkdir -p /var/lib/chat/data
VOLUME ["/var/lib/chat/data"]
EXPOSE 7777 9100
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:9100/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["chat-server", "--listen", "0.0.0.0:7777", "--http", "0.0.0.0:9100", \
            "--data-dir", "/var/lib/chat/data"]
