import "./style.css";
import { $, count, countdown, debounce, h, money, mount, parseMoney, randomId, time } from "./lib/dom.ts";
import { Api, ApiError, errorText } from "./lib/http.ts";
import { LiveStream } from "./lib/sse.ts";
import type { Depth, Fill, Hold, Me, Order, OrderAnswer, Product, Side, Stock, TimeInForce, Trade } from "./types.ts";

/** The kiosk page: talks only to the outlet that serves it. */

const KEY_STORAGE = "stockroom.kiosk.key";
const SKU_STORAGE = "stockroom.kiosk.sku";
const SEARCH_LIMIT = 50;
const REASONS: Record<Side, string[]> = {
  inflow: ["received", "restock", "return", "transfer", "correction", "cycle_count", "other"],
  outflow: ["sale", "transfer", "damaged", "shrinkage", "correction", "cycle_count", "other"],
};

interface CartLine {
  sku: string;
  quantity: string;
  limit: string;
}

const root = $("#app");
let api: Api | null = null;
let outletId = "";
let me: Me | null = null;
let products: Product[] = [];
const stock = new Map<string, Stock>();
let selected: Product | null = null;
let depth: Depth | null = null;
let tape: (Fill | Trade)[] = [];
let stream: LiveStream | null = null;
let streamKey = "";
let live = false;
let cart: CartLine[] = [];
let side: Side = "inflow";
let busy = 0;
const expiredHolds = new Set<string>();

// ---------------------------------------------------------------- sign in

async function start(): Promise<void> {
  try {
    const ready = (await (await fetch("/readyz")).json()) as { outletId?: string };
    outletId = ready.outletId ?? "";
  } catch {
    outletId = "";
  }
  document.title = outletId ? `Stockroom kiosk · ${outletId}` : "Stockroom kiosk";
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) await signIn(key, true);
  else showSignIn();
}

function showSignIn(message = ""): void {
  stopStream();
  api = null;
  me = null;
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    placeholder: "sr_…",
    required: true,
    "aria-label": "API key",
  });
  const error = h("p", { id: "signin-error", class: "error", role: "alert" }, message);
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card signin-card",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        error.textContent = "";
        await signIn(input.value.trim(), false, error);
        button.disabled = false;
      },
    },
    h("h1", null, "Stockroom kiosk"),
    h("p", { class: "muted" }, outletId ? `Outlet ${outletId}` : "Outlet"),
    h("label", null, "API key", input),
    button,
    error,
    h("p", { class: "hint" }, "Keys are printed by `npm start` or issued with `stockroom-outlet admin issue-key`."),
  );
  mount(root, h("main", { class: "signin" }, form));
  input.focus();
}

async function signIn(key: string, remembered: boolean, errorEl?: HTMLElement): Promise<void> {
  const candidate = new Api("", key);
  try {
    me = await candidate.get<Me>("/v1/accounts/me");
  } catch (error) {
    if (remembered) sessionStorage.removeItem(KEY_STORAGE);
    if (errorEl) errorEl.textContent = errorText(error);
    else showSignIn(errorText(error));
    return;
  }
  api = candidate;
  sessionStorage.setItem(KEY_STORAGE, key);
  showMain();
  await search("");
  const last = sessionStorage.getItem(SKU_STORAGE);
  const first = (last && products.find((p) => p.sku === last)?.sku) ?? last ?? products[0]?.sku;
  if (first) await select(first);
}

function signOut(): void {
  sessionStorage.removeItem(KEY_STORAGE);
  showSignIn();
}

// ---------------------------------------------------------------- layout

function showMain(): void {
  const header = h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, h("strong", null, "Stockroom kiosk"), h("span", { class: "outlet" }, outletId)),
    h("span", { id: "live", class: "pill" }, "connecting…"),
    h("div", { id: "account", class: "account" }),
    h("a", { class: "api-link", href: "/openapi.json", target: "_blank", title: "OpenAPI description" }, "API"),
    h("button", { id: "sign-out", class: "ghost", onclick: signOut }, "Sign out"),
  );
  const searchInput = h("input", {
    id: "search",
    type: "search",
    placeholder: "Search sku, name or brand",
    "aria-label": "Search products",
    oninput: debounce(() => void search(searchInput.value), 200),
  });
  mount(
    root,
    header,
    h("div", { id: "notice", role: "status", "aria-live": "polite" }),
    h(
      "main",
      { class: "layout" },
      h(
        "section",
        { class: "card products" },
        h("h2", null, "Products"),
        searchInput,
        h("div", { class: "scroll" }, h("table", { id: "product-table", class: "grid" })),
      ),
      h("section", { id: "product", class: "card product" }, h("p", { class: "muted" }, "Pick a product.")),
      h(
        "aside",
        { class: "side" },
        h("section", { class: "card" }, h("h2", null, "My resting orders"), h("div", { id: "orders" })),
        h("section", { class: "card" }, h("h2", null, "Holds"), h("div", { id: "cart" }), h("div", { id: "holds" })),
      ),
    ),
  );
  renderAccount();
  renderOrders();
  renderCart();
  renderHolds();
}

function notify(text: string, kind: "ok" | "error" = "ok"): void {
  const el = document.getElementById("notice");
  if (!el) return;
  el.className = kind;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  mount(
    el,
    h("span", { class: "notice-text" }, text),
    h("button", { class: "ghost small", "aria-label": "Dismiss", onclick: () => mount(el) }, "×"),
  );
  if (kind === "ok") {
    const shown = el.firstChild;
    setTimeout(() => {
      if (el.firstChild === shown) mount(el);
    }, 8_000);
  }
}

/** Runs an action, shows its problem title on failure, signs out on 401. */
async function act<T>(action: () => Promise<T>): Promise<T | undefined> {
  busy++;
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      showSignIn(error.title);
      return undefined;
    }
    notify(errorText(error), "error");
    return undefined;
  } finally {
    busy--;
  }
}

// ---------------------------------------------------------------- account, products

function renderAccount(): void {
  const el = document.getElementById("account");
  if (!el || !me) return;
  mount(
    el,
    h("span", { class: "who" }, me.accountId, h("span", { class: "role" }, me.role)),
    h(
      "span",
      { id: "wallet", class: "wallet" },
      `Wallet ${money(me.balance)}`,
      me.reserved ? h("span", { class: "muted" }, ` · ${money(me.reserved)} reserved`) : null,
    ),
    me.kyc !== "verified" ? h("span", { class: "badge warn" }, `KYC ${me.kyc}`) : null,
  );
}

async function refreshMe(): Promise<void> {
  if (!api) return;
  const before = me;
  try {
    me = await api.get<Me>("/v1/accounts/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut();
    return;
  }
  renderAccount();
  // Re-render lists only when they changed, so a half-typed "reduce by" survives the poll.
  if (JSON.stringify(before?.orders) !== JSON.stringify(me.orders)) renderOrders();
  if (JSON.stringify(before?.holds) !== JSON.stringify(me.holds)) renderHolds();
}
const refreshMeSoon = debounce(() => void refreshMe(), 150);

async function search(q: string): Promise<void> {
  if (!api) return;
  const answer = await act(() =>
    api!.get<{ products: Product[] }>("/v1/products", { q: q.trim(), limit: SEARCH_LIMIT }),
  );
  if (!answer) return;
  products = answer.products;
  for (const p of products) if (p.stock) stock.set(p.sku, p.stock);
  renderProducts();
  follow();
}

function renderProducts(): void {
  const table = document.getElementById("product-table");
  if (!table) return;
  const head = h(
    "thead",
    null,
    h(
      "tr",
      null,
      h("th", null, "SKU"),
      h("th", null, "Name"),
      h("th", { class: "num" }, "Avail."),
      h("th", { class: "num" }, "Held"),
      h("th", { class: "num" }, "On hand"),
      h("th", { class: "num" }, "Dem."),
    ),
  );
  const rows = products.map((p) => {
    const s = stock.get(p.sku);
    return h(
      "tr",
      {
        class: p.sku === selected?.sku ? "selected clickable" : "clickable",
        dataset: { sku: p.sku },
        onclick: () => void select(p.sku),
      },
      h("td", { class: "mono" }, p.sku),
      h("td", null, p.name, h("div", { class: "muted small" }, p.brand)),
      h("td", { class: "num" }, count(s?.available ?? 0)),
      h("td", { class: "num" }, count(s?.held ?? 0)),
      h("td", { class: "num" }, count(s?.onHand ?? 0)),
      h("td", { class: "num" }, count(s?.demand ?? 0)),
    );
  });
  if (rows.length === 0) rows.push(h("tr", null, h("td", { colspan: 6, class: "muted" }, "No product matches.")));
  mount(table, head, h("tbody", null, rows));
}

async function select(sku: string): Promise<void> {
  if (!api) return;
  const product = await act(() => api!.get<Product>(`/v1/products/${encodeURIComponent(sku)}`));
  if (!product) return;
  selected = product;
  sessionStorage.setItem(SKU_STORAGE, sku);
  if (product.stock) stock.set(sku, product.stock);
  depth = null;
  tape = [];
  renderProductView();
  renderProducts();
  renderCart();
  follow();
  await Promise.all([loadDepth(sku), loadTape(sku)]);
}

async function loadDepth(sku: string): Promise<void> {
  const answer = await act(() => api!.get<Depth>("/v1/marketdata/orderBook", { sku, levels: 12 }));
  if (answer && selected?.sku === sku) {
    depth = answer;
    renderDepth();
    suggestPrice();
  }
}

async function loadTape(sku: string): Promise<void> {
  const answer = await act(() => api!.get<{ trades: Trade[] }>("/v1/marketdata/trades", { sku, limit: 20 }));
  if (answer && selected?.sku === sku) {
    // Merge: a live fill may have arrived while this answer was on its way.
    const byId = new Map<number, Fill | Trade>(answer.trades.map((t) => [t.execId, t]));
    for (const f of tape) byId.set(f.execId, f);
    tape = [...byId.values()].sort((a, b) => b.execId - a.execId).slice(0, 50);
    renderTape();
  }
}

// ---------------------------------------------------------------- the product in view

function renderProductView(): void {
  const el = document.getElementById("product");
  if (!el || !selected) return;
  const p = selected;
  const attributes = Object.entries(p.attributes ?? {});
  mount(
    el,
    h(
      "div",
      { class: "product-head" },
      h("h2", { id: "product-name" }, p.name),
      h("div", { class: "muted" }, h("span", { class: "mono" }, p.sku), " · ", p.brand),
      attributes.length
        ? h(
            "div",
            { class: "attrs" },
            attributes.map(([k, v]) => h("span", { class: "chip" }, `${k}: ${v}`)),
          )
        : null,
      p.listed ? null : h("span", { class: "badge warn" }, "delisted"),
    ),
    h("div", { id: "stock-tiles", class: "tiles" }),
    h(
      "div",
      { class: "split" },
      h("div", null, h("h3", null, "Book"), h("div", { id: "depth" })),
      h("div", null, h("h3", null, "Live fills"), h("ol", { id: "fills", class: "tape" })),
    ),
    orderForm(),
  );
  renderStock();
  renderDepth();
  renderTape();
}

function renderStock(): void {
  const el = document.getElementById("stock-tiles");
  if (!el || !selected) return;
  const s = stock.get(selected.sku) ?? { available: 0, held: 0, onHand: 0, demand: 0 };
  const tile = (id: string, label: string, value: number) =>
    h("div", { class: "tile", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, count(value)));
  mount(
    el,
    tile("stock-available", "Available", s.available),
    tile("stock-held", "Held", s.held),
    tile("stock-onhand", "On hand", s.onHand),
    tile("stock-demand", "Demand", s.demand),
  );
}

function renderDepth(): void {
  const el = document.getElementById("depth");
  if (!el) return;
  if (!depth) {
    mount(el, h("p", { class: "muted" }, "Loading…"));
    return;
  }
  const max = Math.max(1, ...depth.inflow.map((l) => l.quantity), ...depth.outflow.map((l) => l.quantity));
  const row = (l: { price: number; quantity: number; held: number; orders: number }, cls: string) =>
    h(
      "tr",
      { class: cls },
      h("td", { class: "num price" }, money(l.price)),
      h(
        "td",
        { class: "num bar-cell" },
        h("span", { class: "bar", style: `width:${Math.round((l.quantity / max) * 100)}%` }),
        h("span", { class: "bar-text" }, count(l.quantity)),
      ),
      h("td", { class: "num muted" }, l.held ? count(l.held) : ""),
      h("td", { class: "num muted" }, String(l.orders)),
    );
  const asks = depth.inflow.slice(0, 10).reverse();
  const bids = depth.outflow.slice(0, 10);
  const body: HTMLElement[] = [];
  for (const l of asks) body.push(row(l, "ask"));
  if (asks.length === 0)
    body.push(h("tr", { class: "ask" }, h("td", { colspan: 4, class: "muted" }, "No stock offered")));
  body.push(
    h("tr", { class: "spread" }, h("td", { colspan: 4 }, "▲ stock offered (inflow) · ▼ demand waiting (outflow)")),
  );
  for (const l of bids) body.push(row(l, "bid"));
  if (bids.length === 0)
    body.push(h("tr", { class: "bid" }, h("td", { colspan: 4, class: "muted" }, "No demand waiting")));
  mount(
    el,
    h(
      "table",
      { class: "ladder" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "num" }, "Price"),
          h("th", { class: "num" }, "Units"),
          h("th", { class: "num" }, "Held"),
          h("th", { class: "num" }, "Orders"),
        ),
      ),
      h("tbody", null, body),
    ),
  );
}

/** An empty price field gets the best price on the other side of the book. */
function suggestPrice(): void {
  const input = document.getElementById("order-price") as HTMLInputElement | null;
  if (!input || (input.value && input.dataset.auto !== "1") || !depth) return;
  const best = depth.inflow[0]?.price ?? depth.outflow[0]?.price;
  if (best) {
    input.value = money(best).replaceAll(",", "");
    input.dataset.auto = "1";
  }
}

function renderTape(): void {
  const el = document.getElementById("fills");
  if (!el) return;
  if (tape.length === 0) {
    mount(el, h("li", { class: "muted" }, "No fills yet."));
    return;
  }
  mount(
    el,
    tape.slice(0, 20).map((f) => {
      const mine =
        "inflowAccountId" in f && me && (f.inflowAccountId === me.accountId || f.outflowAccountId === me.accountId);
      return h(
        "li",
        { class: mine ? "mine" : "" },
        h("span", { class: "muted" }, time(f.ts)),
        h("span", { class: "num" }, `${count(f.quantity)} @ ${money(f.price)}`),
        h("span", { class: `badge ${f.aggressor}` }, f.aggressor),
        mine ? h("span", { class: "badge you" }, "you") : null,
      );
    }),
  );
}

function orderForm(): HTMLFormElement {
  const sku = selected!.sku;
  const price = h("input", {
    id: "order-price",
    name: "price",
    inputmode: "decimal",
    placeholder: "3.99",
    required: true,
    oninput: () => {
      delete price.dataset.auto;
    },
  });
  const quantity = h("input", {
    id: "order-quantity",
    name: "quantity",
    type: "number",
    min: "1",
    step: "1",
    value: "1",
    required: true,
  });
  const tif = h(
    "select",
    { id: "order-tif", name: "timeInForce" },
    h("option", { value: "GTC", title: "Good till cancelled: the rest waits on the book" }, "GTC · rests"),
    h("option", { value: "IOC", title: "Immediate or cancel: fill what you can now" }, "IOC · now, rest cancelled"),
    h("option", { value: "FOK", title: "Fill or kill: all now or nothing" }, "FOK · all or nothing"),
  );
  const reason = h("select", { id: "order-reason", name: "reason" });
  const reference = h("input", {
    id: "order-reference",
    name: "reference",
    placeholder: "e.g. DN-1001",
    maxlength: 128,
  });
  const submit = h("button", { id: "order-submit", type: "submit", class: "primary" });
  const sides = (["inflow", "outflow"] as const).map((s) =>
    h(
      "label",
      { class: "seg" },
      h("input", {
        type: "radio",
        name: "side",
        value: s,
        id: `side-${s}`,
        checked: s === side,
        onchange: () => {
          side = s;
          syncSide();
        },
      }),
      h("span", null, s === "inflow" ? "Receive stock (inflow)" : "Take stock out (outflow)"),
    ),
  );
  const syncSide = () => {
    mount(
      reason,
      REASONS[side].map((r) => h("option", { value: r }, r.replace("_", " "))),
    );
    submit.textContent = side === "inflow" ? "Receive stock" : "Take stock out";
    submit.className = side === "inflow" ? "primary" : "primary danger";
  };
  syncSide();
  const form = h(
    "form",
    {
      id: "order-form",
      class: "order-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const minor = parseMoney(price.value);
        if (minor === null || minor < 1) {
          notify("Enter a price like 3.99.", "error");
          return;
        }
        const body = {
          sku,
          side,
          price: minor,
          quantity: Number(quantity.value),
          timeInForce: tif.value as TimeInForce,
          reason: reason.value,
          reference: reference.value.trim() || null,
        };
        submit.disabled = true;
        const answer = await act(() => api!.post<OrderAnswer>("/v1/transact", body, randomId("kiosk-")));
        submit.disabled = false;
        if (!answer) return;
        notify(describeOrder(answer, body.side), "ok");
        refreshMeSoon();
      },
    },
    h("h3", null, "Receive or take out"),
    h("div", { class: "segmented", role: "radiogroup" }, sides),
    h(
      "div",
      { class: "fields" },
      h("label", null, "Price", price),
      h("label", null, "Quantity", quantity),
      h("label", null, "Time in force", tif),
      h("label", null, "Reason", reason),
      h("label", null, "Reference", reference),
    ),
    submit,
  );
  return form;
}

function units(n: number): string {
  return `${count(n)} ${n === 1 ? "unit" : "units"}`;
}

function describeOrder(a: OrderAnswer, s: Side): string {
  const what = s === "inflow" ? "Receipt" : "Take-out";
  const at = a.fills.length > 0 ? ` at ${[...new Set(a.fills.map((f) => money(f.price)))].join(", ")}` : "";
  switch (a.status) {
    case "filled":
      return `${what} #${a.orderId} filled: ${units(a.filledQuantity)}${at}.`;
    case "partially_filled":
      return `${what} #${a.orderId} partly filled: ${units(a.filledQuantity)}${at}, ${count(a.remainingQuantity)} resting.`;
    case "resting":
      return `${what} #${a.orderId} resting: ${units(a.remainingQuantity)} on the book.`;
    default:
      if (a.cancelReason === "fok_unfilled") {
        return `${what} #${a.orderId} not filled: the book cannot fill all ${units(a.quantity)} at this price now (FOK).`;
      }
      if (a.cancelReason === "ioc_remainder") {
        return `${what} #${a.orderId}: ${units(a.filledQuantity)} filled${at}, the other ${count(a.quantity - a.filledQuantity)} cancelled (IOC).`;
      }
      return `${what} #${a.orderId} cancelled (${a.cancelReason ?? "no match"}): ${count(a.filledQuantity)} of ${units(a.quantity)} filled.`;
  }
}

// ---------------------------------------------------------------- my orders

function renderOrders(): void {
  const el = document.getElementById("orders");
  if (!el || !me) return;
  const orders = me.orders.filter((o) => o.remaining > 0);
  if (orders.length === 0) {
    mount(el, h("p", { class: "muted" }, "No resting orders."));
    return;
  }
  mount(
    el,
    h(
      "ul",
      { class: "orders", id: "orders-list" },
      orders.map((o) => orderItem(o)),
    ),
  );
}

function orderItem(o: Order): HTMLLIElement {
  const by = h("input", {
    type: "number",
    min: "1",
    max: String(o.remaining),
    value: "1",
    class: "tiny",
    "aria-label": `Reduce order ${o.orderId} by`,
  });
  return h(
    "li",
    { class: "order", dataset: { order: String(o.orderId) } },
    h(
      "div",
      { class: "order-head" },
      h("span", { class: "mono" }, `#${o.orderId}`),
      h("span", { class: `badge ${o.side}` }, o.side),
      h("span", { class: "mono clickable", title: "Show this product", onclick: () => void select(o.sku) }, o.sku),
      h(
        "span",
        { class: "num order-qty" },
        `${count(o.remaining)} of ${count(o.quantity)} @ ${money(o.price)}`,
        h("span", { class: "muted small" }, ` ${o.timeInForce}${o.held ? ` · ${count(o.held)} held` : ""}`),
      ),
    ),
    h(
      "div",
      { class: "row" },
      h("span", { class: "muted small" }, "reduce by"),
      by,
      h(
        "button",
        {
          class: "small",
          onclick: async () => {
            const n = Number(by.value);
            const done = await act(() => api!.patch(`/v1/orders/${o.orderId}`, { reduceBy: n }));
            if (done) notify(`Order #${o.orderId} reduced by ${count(n)}.`);
            refreshMeSoon();
          },
        },
        "Reduce",
      ),
      h(
        "button",
        {
          class: "small danger",
          onclick: async () => {
            const done = await act(() => api!.delete(`/v1/orders/${o.orderId}`));
            if (done) notify(`Order #${o.orderId} cancelled.`);
            refreshMeSoon();
          },
        },
        "Cancel order",
      ),
    ),
  );
}

// ---------------------------------------------------------------- holds

function renderCart(): void {
  const el = document.getElementById("cart");
  if (!el) return;
  const rows = cart.map((line, i) =>
    h(
      "tr",
      null,
      h(
        "td",
        null,
        h("input", {
          value: line.sku,
          class: "mono",
          "aria-label": `Line ${i + 1} sku`,
          oninput: (e: Event) => {
            line.sku = (e.target as HTMLInputElement).value;
          },
        }),
      ),
      h(
        "td",
        null,
        h("input", {
          type: "number",
          min: "1",
          value: line.quantity,
          class: "tiny",
          "aria-label": `Line ${i + 1} quantity`,
          oninput: (e: Event) => {
            line.quantity = (e.target as HTMLInputElement).value;
          },
        }),
      ),
      h(
        "td",
        null,
        h("input", {
          value: line.limit,
          placeholder: "any",
          class: "tiny",
          inputmode: "decimal",
          "aria-label": `Line ${i + 1} limit price`,
          oninput: (e: Event) => {
            line.limit = (e.target as HTMLInputElement).value;
          },
        }),
      ),
      h(
        "td",
        null,
        h(
          "button",
          {
            class: "ghost small",
            "aria-label": `Remove line ${i + 1}`,
            onclick: () => {
              cart.splice(i, 1);
              renderCart();
            },
          },
          "×",
        ),
      ),
    ),
  );
  const ttl = h(
    "select",
    { id: "hold-ttl", "aria-label": "Hold time to live" },
    h("option", { value: "60000" }, "1 min"),
    h("option", { value: "300000", selected: true }, "5 min"),
    h("option", { value: "900000" }, "15 min"),
    h("option", { value: "3600000" }, "1 hour"),
  );
  const place = h(
    "button",
    {
      id: "hold-place",
      class: "primary",
      disabled: cart.length === 0,
      onclick: async () => {
        const lines: { sku: string; quantity: number; limitPrice: number | null }[] = [];
        for (const l of cart) {
          const limitPrice = l.limit.trim() ? parseMoney(l.limit) : null;
          if (l.limit.trim() && limitPrice === null) {
            notify(`Limit price "${l.limit}" is not an amount like 3.99.`, "error");
            return;
          }
          lines.push({ sku: l.sku.trim(), quantity: Number(l.quantity), limitPrice });
        }
        place.disabled = true;
        const holdId = randomId("hold-");
        const hold = await act(() => api!.post<Hold>("/v1/holds", { holdId, lines, ttlMs: Number(ttl.value) }));
        place.disabled = false;
        if (!hold) return;
        notify(
          `Hold ${hold.holdId} placed: ${units(hold.allocations.reduce((n, a) => n + a.quantity, 0))}, ${money(hold.amount)} reserved.`,
        );
        cart = [];
        renderCart();
        await refreshMe();
      },
    },
    "Place hold",
  );
  mount(
    el,
    h("h3", null, "New hold (cart)"),
    cart.length
      ? h(
          "table",
          { class: "grid compact", id: "cart-table" },
          h(
            "thead",
            null,
            h("tr", null, h("th", null, "SKU"), h("th", null, "Qty"), h("th", null, "Limit"), h("th", null, "")),
          ),
          h("tbody", null, rows),
        )
      : h("p", { class: "muted" }, "The cart is empty."),
    h(
      "div",
      { class: "row" },
      h(
        "button",
        {
          id: "cart-add",
          disabled: !selected,
          onclick: () => {
            if (!selected) return;
            const existing = cart.find((l) => l.sku === selected!.sku);
            if (existing) existing.quantity = String(Number(existing.quantity || 0) + 1);
            else cart.push({ sku: selected.sku, quantity: "1", limit: "" });
            renderCart();
          },
        },
        selected ? `+ Add ${selected.sku}` : "+ Add product",
      ),
      h("label", { class: "inline" }, "TTL ", ttl),
      place,
    ),
  );
}

function renderHolds(): void {
  const el = document.getElementById("holds");
  if (!el || !me) return;
  const holds = me.holds.filter((x) => x.status === "active");
  mount(
    el,
    h("h3", null, "Active holds"),
    holds.length === 0
      ? h("p", { class: "muted" }, "No active holds.")
      : h(
          "ul",
          { class: "holds", id: "holds-list" },
          holds.map((hold) =>
            h(
              "li",
              { class: "hold", dataset: { hold: hold.holdId } },
              h(
                "div",
                { class: "hold-head" },
                h("span", { class: "mono small hold-id", title: hold.holdId }, hold.holdId),
                h("span", { class: "ttl", dataset: { expires: String(hold.expiresAt), hold: hold.holdId } }, ""),
              ),
              h(
                "div",
                { class: "small" },
                hold.lines.map((l) => `${l.sku} × ${count(l.quantity)}`).join(", "),
                h("span", { class: "muted" }, ` · ${money(hold.amount)}`),
              ),
              h(
                "div",
                { class: "row" },
                h(
                  "button",
                  {
                    class: "small primary",
                    onclick: async () => {
                      const done = await act(() =>
                        api!.post<Hold>(`/v1/holds/${encodeURIComponent(hold.holdId)}/confirm`),
                      );
                      if (done) {
                        const sold = (done.fills ?? []).reduce((n, f) => n + f.quantity, 0);
                        notify(`Hold ${hold.holdId} confirmed: ${units(sold)} sold.`);
                      }
                      await refreshMe();
                    },
                  },
                  "Confirm",
                ),
                h(
                  "button",
                  {
                    class: "small",
                    onclick: async () => {
                      const done = await act(() =>
                        api!.post<Hold>(`/v1/holds/${encodeURIComponent(hold.holdId)}/cancel`),
                      );
                      if (done) notify(`Hold ${hold.holdId} cancelled: the stock is available again.`);
                      await refreshMe();
                    },
                  },
                  "Cancel",
                ),
              ),
            ),
          ),
        ),
  );
  tickCountdowns();
}

function tickCountdowns(): void {
  for (const el of document.querySelectorAll<HTMLElement>(".ttl[data-expires]")) {
    const left = Number(el.dataset.expires) - Date.now();
    el.textContent = left > 0 ? `expires in ${countdown(left)}` : "expired";
    el.classList.toggle("soon", left < 30_000);
    const id = el.dataset.hold!;
    if (left <= 0 && !expiredHolds.has(id)) {
      expiredHolds.add(id);
      // The outlet expires the hold on its next tick (every second).
      setTimeout(() => void refreshMe(), 1_500);
    }
  }
}

// ---------------------------------------------------------------- live stream

/** Follows the product in view and the listed products; reconnects only when that set changes. */
const follow = debounce(() => {
  if (!api) return;
  const skus = [...new Set([selected?.sku, ...products.map((p) => p.sku)].filter((s): s is string => !!s))].slice(
    0,
    200,
  );
  const key = skus.join(",");
  if (key === streamKey && stream) return;
  stopStream();
  streamKey = key;
  if (skus.length === 0) return;
  stream = new LiveStream({
    url: `/v1/stream?skus=${encodeURIComponent(key)}`,
    headers: api.headers,
    onEvent,
    onState: (connected, error) => {
      live = connected;
      renderLive(error);
      if (connected && selected) {
        void loadTape(selected.sku);
        void refreshMe();
      }
    },
  });
}, 150);

function stopStream(): void {
  stream?.stop();
  stream = null;
  streamKey = "";
  live = false;
}

function renderLive(error?: string): void {
  const el = document.getElementById("live");
  if (!el) return;
  el.textContent = live ? "● live" : "reconnecting…";
  el.className = live ? "pill live" : "pill warn";
  el.title = error ?? "";
}

function onEvent(event: string, data: unknown): void {
  if (event === "stock") {
    const s = data as Stock;
    stock.set(s.sku, s);
    if (selected?.sku === s.sku) renderStock();
    updateProductRow(s);
  } else if (event === "depth") {
    const d = data as Depth;
    if (selected?.sku === d.sku) {
      depth = d;
      renderDepth();
    }
  } else if (event === "fill") {
    const f = data as Fill;
    if (selected?.sku === f.sku && !tape.some((t) => t.execId === f.execId)) {
      tape.unshift(f);
      tape = tape.slice(0, 50);
      renderTape();
    }
    if (me && (f.inflowAccountId === me.accountId || f.outflowAccountId === me.accountId)) refreshMeSoon();
  }
}

function updateProductRow(s: Stock): void {
  const row = document.querySelector<HTMLTableRowElement>(`#product-table tr[data-sku="${CSS.escape(s.sku)}"]`);
  if (!row) return;
  const cells = row.querySelectorAll("td");
  const values = [s.available, s.held, s.onHand, s.demand];
  values.forEach((v, i) => {
    const cell = cells[i + 2];
    if (cell && cell.textContent !== count(v)) {
      cell.textContent = count(v);
      cell.classList.remove("flash");
      void cell.offsetWidth;
      cell.classList.add("flash");
    }
  });
}

setInterval(tickCountdowns, 250);
// Wallet, orders and holds change through other skus too: a light poll keeps them right.
setInterval(() => {
  if (api && busy === 0 && document.visibilityState === "visible") void refreshMe();
}, 5_000);

void start();
