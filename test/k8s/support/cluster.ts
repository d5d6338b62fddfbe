import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { FakeApiServer } from "../fake-api/server.ts";
import { SimulatedControllers } from "../fake-api/simulated-controllers.ts";
import type { K8sObject } from "../fake-api/store.ts";

export const CRD_PATH = fileURLToPath(new URL("../../../crds/outlets.stockroom.dev.yaml", import.meta.url));

export function readCrd(): K8sObject {
  return YAML.parse(readFileSync(CRD_PATH, "utf8")) as K8sObject;
}

export interface TestCluster {
  server: FakeApiServer;
  controllers: SimulatedControllers;
  stop(): Promise<void>;
}

/** A fake API server with the Outlet CRD installed, simulated controllers and the given namespaces. */
export async function startCluster(namespaces: string[] = ["stores"]): Promise<TestCluster> {
  const server = await FakeApiServer.start();
  const controllers = new SimulatedControllers(server);
  for (const name of ["default", ...namespaces]) {
    await server.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
  await server.create(readCrd());
  return {
    server,
    controllers,
    stop: async () => {
      controllers.stop();
      await server.stop();
    },
  };
}

export function outletResource(name: string, spec: Record<string, unknown>, namespace = "stores"): K8sObject {
  return { apiVersion: "stockroom.dev/v1alpha1", kind: "Outlet", metadata: { name, namespace }, spec };
}
