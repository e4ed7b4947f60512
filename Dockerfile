# bff-gateway: build with the dev dependencies (TypeScript), run with the
# production dependencies only, as the unprivileged `node` user.
#   docker build -t bff-gateway .      the gateway (the last stage, `runtime`)
#   docker run -p 3000:3000 -e PUBLIC_URL=... -e OIDC_ISSUER=... bff-gateway
# The demo's provider, API and SPA (docker-compose.yml) need oidc-provider, a
# development dependency the gateway's image never carries: they run from the
# `demo` target (docker build --target demo -t bff-gateway:demo .).

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY plugins ./plugins
COPY demo ./demo
RUN npm run build

# the build as it stands: every dependency, dist/demo and demo/spa
FROM build AS demo
USER node

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY package.json package-lock.json ./
# npm leaves its cache and Node's compile cache (/tmp/node-compile-cache) behind: neither runs
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force && rm -rf /tmp/node-compile-cache
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/plugins ./dist/plugins
USER node
ENV PORT=3000 HOST=0.0.0.0
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/server.js"]
