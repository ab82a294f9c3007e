import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The playground imports leash from its source (src/), so the page always runs the library of
 * this checkout. `base: "./"` makes every asset path relative: the built dist/ works from any
 * static host and any sub-path.
 */
const repo = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  resolve: {
    alias: [
      { find: /^leash\/testing$/, replacement: `${repo}src/testing/index.ts` },
      { find: /^leash$/, replacement: `${repo}src/index.ts` },
    ],
  },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2048 },
  worker: { format: "es" },
  server: { fs: { allow: [repo] } },
});
