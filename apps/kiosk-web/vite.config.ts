import { defineConfig } from "vite";

// `npm run dev -w @stockroom/kiosk-web` serves the page with hot reload and forwards the API
// to an outlet (STOCKROOM_OUTLET_URL, default http://127.0.0.1:8081, north in `npm start`).
const outlet = process.env.STOCKROOM_OUTLET_URL ?? "http://127.0.0.1:8081";

export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: { proxy: { "/v1": outlet, "/readyz": outlet, "/openapi.json": outlet } },
});
