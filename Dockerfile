# chat-server in a container. Build: docker build -t chat-server .
# Run:   docker run -p 7777:7777 -v chat-data:/var/lib/chat/data chat-server
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
      libsqlite3-0 libsodium23 libreadline8 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/chat --shell /usr/sbin/nologin chat
COPY --from=build /src/build/release/server/chat-server /usr/local/bin/chat-server
# The terminal client too: docker run -it --entrypoint chat-client chat-server --server HOST:7777
COPY --from=build /src/build/release/client/chat-client /usr/local/bin/chat-client
USER chat
WORKDIR /var/lib/chat
RUN mkdir -p /var/lib/chat/data
VOLUME ["/var/lib/chat/data"]
EXPOSE 7777
# No HTTP health endpoint yet: the check is that the chat port accepts a connection.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7777"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["chat-server", "--listen", "0.0.0.0:7777", "--data-dir", "/var/lib/chat/data"]
