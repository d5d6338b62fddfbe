import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { loadSettings } from "./config.ts";
import { Operator } from "./operator.ts";

/** `stockroom-operator`: runs until SIGTERM/SIGINT, then releases its lease so a standby takes over at once. */
async function main(): Promise<number> {
  const settings = loadSettings();
  const logger = pino({ level: settings.logLevel, base: { identity: settings.identity } });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const operator = new Operator(kubeConfig, settings, logger);
  await operator.start();
  logger.info({ port: operator.port, watchNamespace: settings.watchNamespace ?? "(all)" }, "operator started");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await operator.stop({ releaseLease: true });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
