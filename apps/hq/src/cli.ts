import { join } from "node:path";
import { parseArgs } from "node:util";
import { ApiKeys, HQ_ROLES, type HqRole } from "./api/keys.ts";
import { ConfigError, type HqConfig, loadConfig } from "./config.ts";
import { startHq } from "./hq.ts";
import { openDb } from "./storage/db.ts";
import { startTelemetry } from "./telemetry/tracing.ts";

const USAGE = `stockroom-hq <command>

  serve                           run HQ (config: STOCKROOM_HQ_* variables or STOCKROOM_HQ_CONFIG=file.json)
  admin issue-key NAME [--role ROLE]
                                  issue an API key (role hq-reader by default, or hq-admin) and print it
  admin list-keys                 list the keys (ids, names, roles; never the secrets)
  admin revoke-key KEY_ID         revoke a key

admin works on the database directly; it may run while HQ serves.
Roles: ${HQ_ROLES.join(", ")}.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: "string", default: "hq-reader" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, action, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  switch (command) {
    case "serve":
      return serveUntilSignal(config);
    case "admin":
      return admin(config, action, arg, values.role);
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serveUntilSignal(config: HqConfig): Promise<number> {
  const telemetry = await startTelemetry("stockroom-hq");
  let fatal: Error | null = null;
  const hq = await startHq(config, {
    onFatal: (error) => {
      fatal = error;
      process.kill(process.pid, "SIGTERM");
    },
  });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await hq.stop();
  await telemetry?.shutdown();
  return fatal ? 1 : 0;
}

function admin(config: HqConfig, action: string | undefined, arg: string | undefined, role: string): number {
  if (!action) {
    console.error(USAGE);
    return 2;
  }
  const { keys, close } = openAdmin(config);
  try {
    switch (action) {
      case "issue-key": {
        if (!arg) throw new ConfigError("admin issue-key needs a NAME");
        if (!HQ_ROLES.includes(role as HqRole))
          throw new ConfigError(`unknown role "${role}" (${HQ_ROLES.join(", ")})`);
        const { keyId, apiKey } = keys.issue(arg, role as HqRole);
        console.log(`${role} key for ${arg} (shown once, key id ${keyId}):\n${apiKey}`);
        return 0;
      }
      case "list-keys":
        for (const k of keys.list()) {
          const revoked = k.revokedAt ? ` revoked ${new Date(k.revokedAt).toISOString()}` : "";
          console.log(`${k.keyId}  ${k.role.padEnd(9)}  ${k.name}  ${new Date(k.createdAt).toISOString()}${revoked}`);
        }
        return 0;
      case "revoke-key":
        if (!arg) throw new ConfigError("admin revoke-key needs a KEY_ID");
        if (!keys.revoke(arg)) {
          console.error(`no key ${arg}`);
          return 1;
        }
        console.log(`key ${arg} revoked`);
        return 0;
      default:
        console.error(`unknown admin action "${action}"\n\n${USAGE}`);
        return 2;
    }
  } finally {
    close();
  }
}

/** The key store alone: it may be used while HQ serves (SQLite WAL, the key table only). */
function openAdmin(config: HqConfig): { keys: ApiKeys; close(): void } {
  const db = openDb(join(config.dataDir, "hq.db"), { synchronous: config.synchronous });
  return { keys: new ApiKeys(db), close: () => db.$client.close() };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
