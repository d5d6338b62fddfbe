export * from "./lock.ts";
export * from "./problem.ts";
export * from "./replication.ts";
