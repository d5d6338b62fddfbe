import { parseArgs } from "node:util";
import { Command, type CommandInput, Role } from "@stockroom/contracts";
import { pino } from "pino";
import { ConfigError, loadConfig, type OutletConfig } from "./config.ts";
import { openOutlet, SYSTEM_ACTOR, startOutlet } from "./node.ts";
import { startTelemetry } from "./telemetry/tracing.ts";
import { CorruptLogError, recover } from "./writer/recovery.ts";

const USAGE = `stockroom-outlet <command>

  serve                         run the outlet node (config: STOCKROOM_* variables or STOCKROOM_CONFIG=file.json)
  admin bootstrap [--account ID]
                                create the first admin account (verified) and print its API key
  admin create-account ID --role ROLE [--verify] [--deposit AMOUNT] [--key]
                                create an account; optionally verify KYC, fund it and issue a key
  admin verify-kyc ID           set an account's KYC to verified
  admin issue-key ID            issue another API key for an account
  verify                        check the whole hash chain and recompute the digest from scratch

admin works on the database directly: run it while the node is stopped.
Roles: ${Role.options.join(", ")}.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      account: { type: "string", default: "admin" },
      role: { type: "string" },
      verify: { type: "boolean", default: false },
      deposit: { type: "string" },
      key: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, sub, id] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  switch (command) {
    case "serve":
      return serveUntilSignal(config);
    case "verify":
      return verify(config);
    case "admin":
      return admin(config, sub, id ?? (sub === "bootstrap" ? values.account : undefined), values);
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serveUntilSignal(config: OutletConfig): Promise<number> {
  const telemetry = await startTelemetry(`stockroom-outlet-${config.outletId}`);
  const outlet = await startOutlet(config);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await outlet.stop();
  await telemetry?.shutdown();
  return 0;
}

function verify(config: OutletConfig): number {
  const { services, close } = openOutlet(config, pino({ level: "silent" }), { marketData: false });
  try {
    const started = performance.now();
    const full = recover(services.log, { fromScratch: true });
    const snapshot = services.log.latestSnapshot();
    const fromSnapshot = recover(services.log);
    console.log(`hash chain ok: ${full.head.seq} events, head ${full.head.hash}`);
    console.log(`digest from scratch: ${full.engine.digest()}`);
    if (snapshot) {
      const same = fromSnapshot.engine.digest() === full.engine.digest();
      console.log(`snapshot at seq ${snapshot.seq} + tail: ${same ? "same digest" : "DIFFERENT digest"}`);
      if (!same) return 1;
    }
    console.log(`verified in ${Math.round(performance.now() - started)} ms`);
    return 0;
  } catch (error) {
    if (error instanceof CorruptLogError) {
      console.error(`verify failed: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    close();
  }
}

async function admin(
  config: OutletConfig,
  action: string | undefined,
  accountId: string | undefined,
  options: { role?: string; verify: boolean; deposit?: string; key: boolean },
): Promise<number> {
  if (!action || !accountId) {
    console.error(USAGE);
    return 2;
  }
  const { services, close } = openOutlet(config, pino({ level: "silent" }), { marketData: false });
  const run = async (input: CommandInput) => {
    const [event] = (await services.writer.submit(Command.parse(input), SYSTEM_ACTOR)).filter(
      (e) => e.payload.type !== "hold.released",
    );
    if (event?.payload.type === "command.rejected") throw new Error(`${input.type}: ${event.payload.message}`);
  };
  const issueKey = () => {
    const { keyId, apiKey } = services.credentials.issue(accountId);
    console.log(`account ${accountId}: API key (shown once, key id ${keyId}):\n${apiKey}`);
  };
  try {
    switch (action) {
      case "bootstrap":
        await run({ type: "account.create", accountId, role: "admin", name: "Administrator" });
        await run({ type: "account.kyc", accountId, kyc: "verified" });
        issueKey();
        return 0;
      case "create-account": {
        const role = Role.parse(options.role);
        await run({ type: "account.create", accountId, role });
        if (options.verify) await run({ type: "account.kyc", accountId, kyc: "verified" });
        if (options.deposit) await run({ type: "wallet.deposit", accountId, amount: Number(options.deposit) });
        console.log(`account ${accountId} created (${role})`);
        if (options.key) issueKey();
        return 0;
      }
      case "verify-kyc":
        await run({ type: "account.kyc", accountId, kyc: "verified" });
        console.log(`account ${accountId} verified`);
        return 0;
      case "issue-key":
        if (!services.engine.account(accountId)) throw new Error(`no account ${accountId}`);
        issueKey();
        return 0;
      default:
        console.error(`unknown admin action "${action}"\n\n${USAGE}`);
        return 2;
    }
  } finally {
    close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ConfigError || error instanceof CorruptLogError) console.error(error.message);
    else console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
