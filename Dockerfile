# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY backends ./backends
COPY scripts ./scripts
# the operator console's SPA (Vite), built into dist/console and served under /console
COPY console ./console
RUN npm run build

# Runtime: production dependencies and the compiled gateway only, as a non-root user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY flags ./flags
RUN mkdir -p var && chown node:node var
USER node
EXPOSE 8080
# exec form: node is PID 1's child-free target of SIGTERM, so the drain in src/serve.ts runs
CMD ["node", "--enable-source-maps", "dist/src/server.js"]
