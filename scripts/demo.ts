// A two-minute tour of the engine: a store receives stock, a kiosk sells, a checkout holds a
// cart and confirms it. Prints every event and the stock after each step.
import { Command, type CommandInput } from "@stockroom/contracts";
import { Engine } from "@stockroom/engine";

const engine = new Engine();
let ts = Date.UTC(2026, 10, 23, 9, 0);

function run(label: string, input: CommandInput): void {
  ts += 1_000;
  const events = engine.execute(Command.parse(input), ts);
  console.log(`\n> ${label}`);
  for (const e of events) console.log(`  ${e.type.padEnd(18)} ${JSON.stringify({ ...e, type: undefined })}`);
}

run("configure the outlet", { type: "outlet.configure", timezone: "Europe/London" });
run("list a product", { type: "product.add", sku: "tea-earl-grey", name: "Earl Grey 50 bags", brand: "Twinings" });
for (const [id, role] of [
  ["receiving", "colleague"],
  ["kiosk-1", "kiosk"],
  ["checkout", "service"],
] as const) {
  run(`create account ${id}`, { type: "account.create", accountId: id, role });
  run(`verify ${id}`, { type: "account.kyc", accountId: id, kyc: "verified" });
}
run("fund the kiosk", { type: "wallet.deposit", accountId: "kiosk-1", amount: 50_000 });
run("fund the checkout", { type: "wallet.deposit", accountId: "checkout", amount: 50_000 });
const receive = { type: "order.place", accountId: "receiving", sku: "TEA-EARL-GREY", side: "inflow" } as const;
run("receive 20 at 399", { ...receive, price: 399, quantity: 20, reason: "received", reference: "DN-1001" });
run("receive 10 at 349", { ...receive, price: 349, quantity: 10, reason: "received", reference: "DN-1002" });
run("kiosk sells 12 at up to 399", {
  type: "order.place",
  accountId: "kiosk-1",
  sku: "TEA-EARL-GREY",
  side: "outflow",
  price: 399,
  quantity: 12,
  timeInForce: "IOC",
  reason: "sale",
});
run("checkout holds 5", {
  type: "hold.place",
  holdId: "cart-77",
  accountId: "checkout",
  lines: [{ sku: "TEA-EARL-GREY", quantity: 5 }],
  ttlMs: 600_000,
});
console.log("\nstock:", engine.stock("TEA-EARL-GREY"));
run("checkout confirms", { type: "hold.confirm", holdId: "cart-77", accountId: "checkout" });
run("a sale by an unknown account is refused", {
  type: "order.place",
  accountId: "nobody",
  sku: "TEA-EARL-GREY",
  side: "outflow",
  price: 399,
  quantity: 1,
});
console.log("\nstock:", engine.stock("TEA-EARL-GREY"));
console.log("depth:", JSON.stringify(engine.depth("TEA-EARL-GREY")));
console.log("digest:", engine.digest());
