// The operator console's build (docs/console.md): `npm run build` writes dist/console, which the
// gateway serves under /console (src/console/plugin.ts). No CDN: everything is bundled.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // one script, one stylesheet: nothing inline, so the page runs under a strict CSP
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
