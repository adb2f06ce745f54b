# syntax=docker/dockerfile:1
# Certgate image: build stage compiles TypeScript (npm ci runs `prepare` = npm run build), runtime
# stage holds the compiled dist/ and production dependencies only, runs as an unprivileged user,
# keeps its data in a volume and reports health from /readyz. README, "Running in production".

FROM node:20-bookworm-slim AS build
WORKDIR /app
# pkcs11js builds a native addon when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
COPY protocols ./protocols
COPY drizzle ./drizzle
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf src protocols tsconfig.json tsconfig.build.json

FROM node:20-bookworm-slim
# openssl: `certgate init --import-p12` reads PKCS#12 files with it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system certgate \
 && useradd --system --gid certgate --home-dir /var/lib/certgate --shell /usr/sbin/nologin certgate \
 && install -d -o certgate -g certgate -m 0700 /var/lib/certgate
WORKDIR /opt/certgate
COPY --from=build --chown=root:root /app ./
ENV NODE_ENV=production \
    CERTGATE_DATA_DIR=/var/lib/certgate \
    CERTGATE_HOST=0.0.0.0 \
    CERTGATE_HTTP_PORT=8080 \
    CERTGATE_HTTPS_PORT=8443
USER certgate
VOLUME ["/var/lib/certgate"]
EXPOSE 8080 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CERTGATE_HTTP_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini as PID 1 forwards SIGTERM to node, so `serve` drains and exits 0 on `docker stop`.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/certgate/bin/certgate.mjs"]
CMD ["serve"]
