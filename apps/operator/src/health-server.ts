import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthProbe {
  /** Alive: the process and its loops run. */
  healthy(): boolean;
  /** Ready: a standby is ready; a leader is ready once its caches are synced. */
  ready(): boolean;
}

/** /healthz, /readyz and /metrics on one port. */
export class HealthServer {
  private constructor(private readonly server: Server) {}

  static async start(host: string, port: number, probe: HealthProbe, registry: Registry): Promise<HealthServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const answer = (ok: boolean) => {
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: ok ? "ok" : "unavailable" }));
      };
      if (path === "/healthz") answer(probe.healthy());
      else if (path === "/readyz") answer(probe.ready());
      else if (path === "/metrics") {
        registry.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": registry.contentType });
            res.end(text);
          },
          () => answer(false),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    return new HealthServer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
