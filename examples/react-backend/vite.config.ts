import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// React without a plugin: esbuild compiles the JSX; no fast refresh is needed for this page.
export default defineConfig({
  root: fileURLToPath(new URL("./web", import.meta.url)),
  build: { outDir: fileURLToPath(new URL("./dist", import.meta.url)), emptyOutDir: true },
  esbuild: { jsx: "automatic" },
  logLevel: "warn",
});
