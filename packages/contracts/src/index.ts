export * from "./commands.ts";
export * from "./envelope.ts";
export * from "./events.ts";
export * from "./primitives.ts";
