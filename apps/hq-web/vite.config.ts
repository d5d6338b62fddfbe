import { defineConfig } from "vite";

// `npm run dev -w @stockroom/hq-web` serves the dashboard with hot reload and forwards the API
// to HQ (STOCKROOM_HQ_URL, default http://127.0.0.1:8080).
const hq = process.env.STOCKROOM_HQ_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 400 },
  server: { proxy: { "/v1": hq, "/readyz": hq, "/openapi.json": hq } },
});
