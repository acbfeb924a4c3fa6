# Identity Link — production image. Build: docker build -t identity-link .
# Before the first start and after every upgrade, apply migrations:
#   docker run --rm --env-file prod.env identity-link npm run migrate
# The service refuses to start with pending migrations or development defaults.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY config ./config
RUN npm run build

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# argon2 ships prebuilt binaries; no install script is needed for production dependencies.
RUN npm ci --omit=dev --ignore-scripts

FROM node:24-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# V8 sizes the young generation from the machine's memory (up to 128 MiB on 24 GiB): 16 MiB
# semi-spaces keep it at about a quarter of that (docs/performance.md, «Memory»); as `npm start`.
CMD ["node", "--max-semi-space-size=16", "dist/main.js"]
