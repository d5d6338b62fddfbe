import "./style.css";
import { $, count, dateTime, debounce, h, money, mount, time } from "@stockroom/kiosk-web/lib/dom.ts";
import { Api, ApiError, errorText } from "@stockroom/kiosk-web/lib/http.ts";
import { LiveStream } from "@stockroom/kiosk-web/lib/sse.ts";
import { CandleChart } from "./chart.ts";
import {
  applyDepth,
  type Candle,
  candleOf,
  candles,
  type Depth,
  type DepthChanges,
  depth,
  depthOf,
  type Execution,
  type ExecutionFilter,
  executionOf,
  executions,
  type InventoryRow,
  inventory,
  inventoryRow,
  type OutletStatus,
  outletStatus,
  outlets,
  type Reconciliation,
  type StockNumbers,
} from "./hq-api.ts";

/** The HQ dashboard: the chain's stock, its outlets, market data and executions, live. */

const KEY_STORAGE = "stockroom.hq.key";
const SKU_STORAGE = "stockroom.hq.sku";
const RESOLUTIONS = ["1m", "5m", "1h", "1w", "1mo"] as const;
type Resolution = (typeof RESOLUTIONS)[number];
type SortKey = "sku" | "name" | "brand" | "available" | "held" | "onHand" | "demand";

const root = $("#app");
let api: Api | null = null;
let rows: InventoryRow[] = [];
let matching = 0;
let totals: StockNumbers = { available: 0, held: 0, onHand: 0, demand: 0 };
let book: Depth | null = null;
let tape: Execution[] = [];
let query = "";
let sortKey: SortKey = "onHand";
let sortDesc = true;
const expanded = new Set<string>();
let outletList: OutletStatus[] = [];
let selectedSku: string | null = null;
let resolution: Resolution = "1m";
let chart: CandleChart | null = null;
let stream: LiveStream | null = null;
let streamSku = "";
let filter: ExecutionFilter = { limit: 200 };
let timers: ReturnType<typeof setInterval>[] = [];
let lastError = "";

// ---------------------------------------------------------------- sign in

function start(): void {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) void signIn(key, true);
  else showSignIn();
}

function showSignIn(message = ""): void {
  teardown();
  const input = h("input", {
    id: "api-key",
    type: "password",
    autocomplete: "off",
    placeholder: "sr_…",
    required: true,
    "aria-label": "API key",
  });
  const error = h("p", { id: "signin-error", class: "error", role: "alert" }, message);
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  mount(
    root,
    h(
      "main",
      { class: "signin" },
      h(
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
        h("h1", null, "Stockroom HQ"),
        h("p", { class: "muted" }, "Global stock, outlets, market data and executions."),
        h("label", null, "API key (hq-reader)", input),
        button,
        error,
        h(
          "p",
          { class: "hint" },
          "Keys are printed by `npm start` or issued with `stockroom-hq admin issue-key <name>`.",
        ),
      ),
    ),
  );
  input.focus();
}

async function signIn(key: string, remembered: boolean, errorEl?: HTMLElement): Promise<void> {
  const candidate = new Api("", key);
  try {
    outletList = await outlets(candidate);
  } catch (error) {
    if (remembered) sessionStorage.removeItem(KEY_STORAGE);
    if (errorEl) errorEl.textContent = errorText(error);
    else showSignIn(errorText(error));
    return;
  }
  api = candidate;
  sessionStorage.setItem(KEY_STORAGE, key);
  showDashboard();
}

function signOut(): void {
  sessionStorage.removeItem(KEY_STORAGE);
  showSignIn();
}

function teardown(): void {
  for (const t of timers) clearInterval(t);
  timers = [];
  stream?.stop();
  stream = null;
  streamSku = "";
  chart?.destroy();
  chart = null;
  api = null;
}

/** Runs a read; shows its problem title once (not on every poll), signs out on 401. */
async function read<T>(what: () => Promise<T>): Promise<T | undefined> {
  try {
    const answer = await what();
    if (lastError) setError("");
    return answer;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      showSignIn(error.title);
      return undefined;
    }
    setError(errorText(error));
    return undefined;
  }
}

function setError(text: string): void {
  lastError = text;
  const el = document.getElementById("notice");
  if (!el) return;
  el.className = text ? "error" : "";
  mount(el, text ? h("span", { class: "notice-text" }, text) : null);
}

// ---------------------------------------------------------------- layout

function showDashboard(): void {
  const search = h("input", {
    id: "inventory-search",
    type: "search",
    placeholder: "Search sku, name or brand",
    "aria-label": "Search inventory",
    oninput: debounce(() => {
      query = search.value;
      void loadInventory();
    }, 200),
  });
  const skuInput = h("input", {
    id: "market-sku",
    list: "sku-list",
    placeholder: "SKU",
    class: "mono",
    "aria-label": "Market data sku",
    onchange: () => {
      const sku = skuInput.value.trim().toUpperCase();
      if (sku) selectSku(sku);
    },
  });
  mount(
    root,
    h(
      "header",
      { class: "topbar" },
      h("div", { class: "brand" }, h("strong", null, "Stockroom HQ"), h("span", { class: "outlet" }, "all outlets")),
      h("span", { id: "live", class: "pill" }, "connecting…"),
      h("div", { class: "account" }, h("span", { id: "updated", class: "muted small" })),
      h("a", { class: "api-link", href: "/openapi.json", target: "_blank", title: "OpenAPI description" }, "API"),
      h("button", { id: "sign-out", class: "ghost", onclick: signOut }, "Sign out"),
    ),
    h("div", { id: "notice", role: "alert" }),
    h(
      "main",
      { class: "dashboard" },
      h(
        "section",
        { class: "card outlets-card" },
        h("h2", null, "Outlets"),
        h("div", { id: "outlets", class: "outlets" }),
      ),
      h("section", { class: "card totals-card" }, h("div", { id: "totals", class: "tiles" })),
      h(
        "section",
        { class: "card inventory-card" },
        h("div", { class: "card-head" }, h("h2", null, "Global inventory"), search),
        h("div", { class: "scroll" }, h("table", { id: "inventory-table", class: "grid" })),
        h("datalist", { id: "sku-list" }),
      ),
      h(
        "section",
        { class: "card market-card" },
        h(
          "div",
          { class: "card-head" },
          h("h2", null, "Market data"),
          skuInput,
          h("span", { id: "market-name", class: "muted" }),
          h(
            "div",
            { class: "segmented", id: "resolutions", role: "group", "aria-label": "Candle resolution" },
            RESOLUTIONS.map((r) =>
              h(
                "button",
                {
                  class: r === resolution ? "seg-button active" : "seg-button",
                  dataset: { res: r },
                  onclick: () => {
                    resolution = r;
                    for (const b of document.querySelectorAll<HTMLButtonElement>("#resolutions button")) {
                      b.classList.toggle("active", b.dataset.res === r);
                    }
                    void loadCandles();
                  },
                },
                r,
              ),
            ),
          ),
        ),
        h(
          "div",
          { class: "market" },
          h("div", { class: "chart-wrap" }, h("div", { id: "chart" }), h("p", { id: "chart-empty", class: "muted" })),
          h("div", null, h("h3", null, "Depth (all outlets)"), h("div", { id: "hq-depth" })),
          h("div", null, h("h3", null, "Trades"), h("ol", { id: "trades", class: "tape" })),
        ),
      ),
      h(
        "section",
        { class: "card executions-card" },
        h("div", { class: "card-head" }, h("h2", null, "Executions"), executionFilters()),
        h("div", { class: "scroll" }, h("table", { id: "exec-table", class: "grid compact" })),
      ),
    ),
  );
  chart = new CandleChart($("#chart"));
  renderOutlets();
  const last = sessionStorage.getItem(SKU_STORAGE);
  void loadInventory().then(() => {
    const first = last ?? rows[0]?.sku;
    if (first) selectSku(first);
  });
  void loadExecutions();
  timers = [
    setInterval(() => void loadOutlets(), 5_000),
    setInterval(renderOutlets, 1_000), // "last heard 3s ago"
    setInterval(() => void loadInventory(), 5_000),
    setInterval(() => void loadMarket(), 10_000),
    setInterval(() => {
      if (filter.endTime === undefined) void loadExecutions();
    }, 5_000),
  ];
}

function markUpdated(): void {
  const el = document.getElementById("updated");
  if (el) el.textContent = `updated ${time(Date.now())}`;
}

// ---------------------------------------------------------------- outlets

async function loadOutlets(): Promise<void> {
  if (!api) return;
  const answer = await read(() => outlets(api!));
  if (!answer) return;
  outletList = answer;
  renderOutlets();
  markUpdated();
}

const RECONCILIATION: Record<Reconciliation, [string, string]> = {
  in_sync: ["in sync", "ok"],
  lagging: ["lagging", "warn"],
  diverged: ["diverged", "bad"],
  unknown: ["not reconciled yet", ""],
};

function ago(ts: number | null): string {
  if (ts === null) return "never";
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

function renderOutlets(): void {
  const el = document.getElementById("outlets");
  if (!el) return;
  if (outletList.length === 0) {
    mount(el, h("p", { class: "muted" }, "No outlet has replicated to HQ yet."));
  } else {
    mount(
      el,
      outletList.map((o) => {
        const [label, cls] = RECONCILIATION[o.reconciliation];
        return h(
          "div",
          { class: "outlet-card", dataset: { outlet: o.outletId } },
          h(
            "div",
            { class: "outlet-head" },
            h("span", { class: o.online ? "dot online" : "dot offline" }),
            h("strong", null, o.outletId),
            h("span", { class: "online-label muted small" }, o.online ? "online" : "offline"),
            h("span", { class: `badge state ${cls}` }, label),
          ),
          h(
            "dl",
            { class: "facts" },
            h("dt", null, "applied seq"),
            h("dd", { class: "seq" }, count(o.appliedSeq)),
            h("dt", null, "outlet seq"),
            h("dd", null, o.lastSeq === null ? "–" : count(o.lastSeq)),
            h("dt", null, "lag"),
            h(
              "dd",
              { class: o.lag > 0 ? "lag behind" : "lag" },
              `${count(o.lag)} events`,
              o.lag > 0 && o.since ? h("span", { class: "muted" }, ` since ${time(o.since)}`) : null,
            ),
            h("dt", null, "last heard"),
            h("dd", null, ago(o.lastSeenAt)),
          ),
          o.reconciliation === "diverged" && (o.reason || o.detail)
            ? h("div", { class: "diverged small" }, [o.reason, o.detail].filter(Boolean).join(": "))
            : null,
          o.divergedSkus.length
            ? h(
                "div",
                { class: "diverged" },
                h("span", { class: "small" }, "diverged skus: "),
                o.divergedSkus
                  .slice(0, 12)
                  .map((s) => h("button", { class: "chip clickable mono", onclick: () => selectSku(s) }, s)),
                o.divergedSkus.length > 12
                  ? h("span", { class: "muted small" }, ` +${o.divergedSkus.length - 12}`)
                  : null,
              )
            : null,
        );
      }),
    );
  }
  const sel = document.getElementById("exec-outlet") as HTMLSelectElement | null;
  if (sel) {
    const known = new Set([...sel.options].map((o) => o.value));
    for (const o of outletList) if (!known.has(o.outletId)) sel.append(h("option", { value: o.outletId }, o.outletId));
  }
  renderTotals();
}

// ---------------------------------------------------------------- inventory

async function loadInventory(): Promise<void> {
  if (!api) return;
  const asked = query;
  const answer = await read(() => inventory(api!, asked));
  if (!answer || asked !== query) return;
  rows = answer.rows;
  matching = answer.total;
  totals = answer.totals;
  renderInventory();
  renderTotals();
  const list = document.getElementById("sku-list");
  if (list && list.childElementCount !== rows.length) {
    mount(
      list,
      rows.map((r) => h("option", { value: r.sku }, r.name)),
    );
  }
}

function renderTotals(): void {
  const el = document.getElementById("totals");
  if (!el) return;
  const online = outletList.filter((o) => o.online).length;
  const tile = (id: string, label: string, value: string) =>
    h("div", { class: "tile", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
  mount(
    el,
    tile("total-skus", query ? "Skus found" : "Skus", count(matching)),
    tile("total-onhand", "On hand", count(totals.onHand)),
    tile("total-available", "Available", count(totals.available)),
    tile("total-held", "Held", count(totals.held)),
    tile("total-demand", "Demand", count(totals.demand)),
    tile("total-outlets", "Outlets online", `${online} / ${outletList.length}`),
  );
}

function sorted(): InventoryRow[] {
  const dir = sortDesc ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = a[sortKey];
    const y = b[sortKey];
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return c * dir || a.sku.localeCompare(b.sku);
  });
}

function renderInventory(): void {
  const table = document.getElementById("inventory-table");
  if (!table) return;
  const th = (key: SortKey, label: string, numeric = false) =>
    h(
      "th",
      {
        class: `${numeric ? "num " : ""}sortable${sortKey === key ? " sorted" : ""}`,
        dataset: { sort: key },
        "aria-sort": sortKey === key ? (sortDesc ? "descending" : "ascending") : "none",
        onclick: () => {
          if (sortKey === key) sortDesc = !sortDesc;
          else {
            sortKey = key;
            sortDesc = numeric;
          }
          renderInventory();
        },
      },
      label,
      sortKey === key ? (sortDesc ? " ▼" : " ▲") : "",
    );
  const body: HTMLTableRowElement[] = [];
  for (const r of sorted().slice(0, 300)) {
    const open = expanded.has(r.sku);
    body.push(
      h(
        "tr",
        {
          class: `clickable${r.sku === selectedSku ? " selected" : ""}`,
          dataset: { sku: r.sku },
          onclick: () => {
            if (open) expanded.delete(r.sku);
            else expanded.add(r.sku);
            selectSku(r.sku);
            renderInventory();
          },
        },
        h("td", { class: "mono" }, open ? "▾ " : "▸ ", r.sku),
        h("td", null, r.name),
        h("td", { class: "muted" }, r.brand),
        h("td", { class: "num" }, count(r.available)),
        h("td", { class: "num" }, count(r.held)),
        h("td", { class: "num strong" }, count(r.onHand)),
        h("td", { class: "num" }, count(r.demand)),
      ),
    );
    if (open) {
      const outletsOf = r.outlets.length ? r.outlets : [];
      body.push(
        h(
          "tr",
          { class: "breakdown", dataset: { breakdown: r.sku } },
          h(
            "td",
            { colspan: 7 },
            outletsOf.length === 0
              ? h("span", { class: "muted" }, "No per-outlet figures.")
              : h(
                  "table",
                  { class: "grid compact inner" },
                  h(
                    "thead",
                    null,
                    h(
                      "tr",
                      null,
                      h("th", null, "Outlet"),
                      h("th", { class: "num" }, "Available"),
                      h("th", { class: "num" }, "Held"),
                      h("th", { class: "num" }, "On hand"),
                      h("th", { class: "num" }, "Demand"),
                    ),
                  ),
                  h(
                    "tbody",
                    null,
                    outletsOf.map((o) =>
                      h(
                        "tr",
                        { dataset: { outlet: o.outletId } },
                        h("td", null, o.outletId),
                        h("td", { class: "num" }, count(o.available)),
                        h("td", { class: "num" }, count(o.held)),
                        h("td", { class: "num" }, count(o.onHand)),
                        h("td", { class: "num" }, count(o.demand)),
                      ),
                    ),
                  ),
                ),
          ),
        ),
      );
    }
  }
  if (body.length === 0) body.push(h("tr", null, h("td", { colspan: 7, class: "muted" }, "Nothing matches.")));
  mount(
    table,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        th("sku", "SKU"),
        th("name", "Name"),
        th("brand", "Brand"),
        th("available", "Available", true),
        th("held", "Held", true),
        th("onHand", "On hand", true),
        th("demand", "Demand", true),
      ),
    ),
    h("tbody", null, body),
  );
}

// ---------------------------------------------------------------- market data

function selectSku(sku: string): void {
  if (sku !== selectedSku) {
    book = null;
    tape = [];
  }
  selectedSku = sku;
  sessionStorage.setItem(SKU_STORAGE, sku);
  const input = document.getElementById("market-sku") as HTMLInputElement | null;
  if (input && input.value !== sku) input.value = sku;
  const name = document.getElementById("market-name");
  const row = rows.find((r) => r.sku === sku);
  if (name) name.textContent = row ? `${row.name} · ${row.brand}` : "";
  for (const tr of document.querySelectorAll<HTMLTableRowElement>("#inventory-table > tbody > tr[data-sku]")) {
    tr.classList.toggle("selected", tr.dataset.sku === sku);
  }
  follow(sku);
  void loadMarket();
}

async function loadMarket(): Promise<void> {
  await Promise.all([loadDepth(), loadCandles(), loadTrades()]);
}

async function loadDepth(): Promise<void> {
  const sku = selectedSku;
  if (!api || !sku) return;
  const answer = await read(() => depth(api!, sku));
  if (answer && sku === selectedSku) {
    book = answer;
    renderDepth(answer);
  }
}

async function loadCandles(): Promise<void> {
  const sku = selectedSku;
  const res = resolution;
  if (!api || !sku) return;
  const answer = await read(() => candles(api!, sku, res));
  if (!answer || sku !== selectedSku || res !== resolution) return;
  renderCandles(sku, res, answer);
}

async function loadTrades(): Promise<void> {
  const sku = selectedSku;
  if (!api || !sku) return;
  const answer = await read(() => executions(api!, { sku, limit: 40 }));
  if (answer && sku === selectedSku) {
    tape = answer;
    renderTrades(tape);
  }
}

function renderCandles(sku: string, res: string, data: Candle[]): void {
  chart?.set(`${sku}/${res}`, data);
  const empty = document.getElementById("chart-empty");
  if (empty) empty.textContent = data.length ? "" : `No trades of ${sku} yet at ${res}.`;
  const chartEl = document.getElementById("chart");
  if (chartEl) chartEl.dataset.candles = String(data.length);
}

function renderDepth(d: Depth): void {
  const el = document.getElementById("hq-depth");
  if (!el) return;
  const max = Math.max(1, ...d.inflow.map((l) => l.quantity), ...d.outflow.map((l) => l.quantity));
  const row = (l: Depth["inflow"][number], cls: string) =>
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
  const asks = d.inflow.slice(0, 10).reverse();
  const bids = d.outflow.slice(0, 10);
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
      h(
        "tbody",
        null,
        asks.length
          ? asks.map((l) => row(l, "ask"))
          : h("tr", null, h("td", { colspan: 4, class: "muted" }, "No stock offered")),
        h("tr", { class: "spread" }, h("td", { colspan: 4 }, "▲ stock offered · ▼ demand waiting")),
        bids.length
          ? bids.map((l) => row(l, "bid"))
          : h("tr", null, h("td", { colspan: 4, class: "muted" }, "No demand waiting")),
      ),
    ),
  );
}

function renderTrades(list: Execution[]): void {
  const el = document.getElementById("trades");
  if (!el) return;
  if (list.length === 0) {
    mount(el, h("li", { class: "muted" }, "No trades yet."));
    return;
  }
  mount(
    el,
    list
      .slice(0, 40)
      .map((t) =>
        h(
          "li",
          { dataset: { exec: `${t.outletId}:${t.execId}` } },
          h("span", { class: "muted" }, time(t.ts)),
          h("span", { class: "num" }, `${count(t.quantity)} @ ${money(t.price)}`),
          h("span", { class: "badge" }, t.outletId),
          t.aggressor ? h("span", { class: `badge ${t.aggressor}` }, t.aggressor) : null,
        ),
      ),
  );
}

/**
 * HQ's stream for the sku in view: outlet status for every outlet, and the sku's stock, depth
 * changes, trades and candles. Polling runs beside it, slower, for everything else and any gap.
 */
function follow(sku: string): void {
  if (!api || sku === streamSku) return;
  stream?.stop();
  streamSku = sku;
  const executionsSoon = debounce(() => {
    if (filter.endTime === undefined) void loadExecutions();
  }, 300);
  const depthSoon = debounce(() => void loadDepth(), 100);
  const candlesSoon = debounce(() => void loadCandles(), 100);
  stream = new LiveStream({
    url: `/v1/stream?skus=${encodeURIComponent(sku)}`,
    headers: api.headers,
    onEvent: (event, data) =>
      onStreamEvent(event, data as Record<string, unknown>, { executionsSoon, depthSoon, candlesSoon }),
    onState: (connected) => {
      const el = document.getElementById("live");
      if (connected) void loadMarket();
      if (!el) return;
      el.textContent = connected ? "● live" : stream?.active ? "reconnecting…" : "polling";
      el.className = connected ? "pill live" : stream?.active ? "pill warn" : "pill";
    },
  });
}

function onStreamEvent(
  event: string,
  data: Record<string, unknown>,
  soon: { executionsSoon: () => void; depthSoon: () => void; candlesSoon: () => void },
): void {
  switch (event) {
    case "outlet": {
      const status = outletStatus(data);
      const i = outletList.findIndex((o) => o.outletId === status.outletId);
      if (i >= 0) outletList[i] = status;
      else outletList.push(status);
      renderOutlets();
      return;
    }
    case "stock": {
      const row = inventoryRow(data);
      const i = rows.findIndex((r) => r.sku === row.sku);
      if (i < 0) return;
      const old = rows[i]!;
      for (const k of ["available", "held", "onHand", "demand"] as const) totals[k] += row[k] - old[k];
      rows[i] = row;
      renderInventory();
      renderTotals();
      return;
    }
    case "depth": {
      if (data.sku !== selectedSku) return;
      if (Array.isArray(data.inflow)) book = depthOf(data, String(data.sku));
      else if (book && book.seq !== null && data.seq === book.seq + 1)
        book = applyDepth(book, data as unknown as DepthChanges);
      else return soon.depthSoon(); // a gap, or no book yet: fetch the whole book
      renderDepth(book);
      return;
    }
    case "trade": {
      if (data.sku !== selectedSku) return;
      const t = executionOf(data);
      if (!tape.some((x) => x.outletId === t.outletId && x.execId === t.execId)) {
        tape = [t, ...tape].sort((a, b) => b.ts - a.ts || b.execId - a.execId).slice(0, 40);
        renderTrades(tape);
      }
      soon.executionsSoon();
      return;
    }
    case "candle": {
      if (data.sku !== selectedSku || data.resolution !== resolution) return;
      const candle =
        data.candle && typeof data.candle === "object" ? candleOf(data.candle as Record<string, unknown>) : null;
      if (!candle || !chart?.update(candle)) soon.candlesSoon();
      else {
        const chartEl = document.getElementById("chart");
        const empty = document.getElementById("chart-empty");
        if (chartEl && chartEl.dataset.candles === "0") chartEl.dataset.candles = "1";
        if (empty) empty.textContent = "";
      }
      return;
    }
  }
}

// ---------------------------------------------------------------- executions

function executionFilters(): HTMLFormElement {
  const sku = h("input", { id: "exec-sku", placeholder: "SKU", class: "mono", list: "sku-list", "aria-label": "Sku" });
  const outlet = h("select", { id: "exec-outlet", "aria-label": "Outlet" }, h("option", { value: "" }, "all outlets"));
  const from = h("input", { id: "exec-from", type: "datetime-local", step: "1", "aria-label": "From" });
  const to = h("input", { id: "exec-to", type: "datetime-local", step: "1", "aria-label": "To" });
  const limit = h(
    "select",
    { id: "exec-limit", "aria-label": "Rows" },
    ["50", "200", "1000"].map((n) => h("option", { value: n, selected: n === "200" }, `${n} rows`)),
  );
  const stamp = (v: string) => (v ? new Date(v).getTime() : undefined);
  return h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        filter = {
          sku: sku.value.trim().toUpperCase() || undefined,
          outletId: outlet.value || undefined,
          startTime: stamp(from.value),
          endTime: stamp(to.value),
          limit: Number(limit.value),
        };
        void loadExecutions();
      },
    },
    sku,
    outlet,
    h("label", { class: "inline" }, "from ", from),
    h("label", { class: "inline" }, "to ", to),
    limit,
    h("button", { id: "exec-apply", type: "submit" }, "Filter"),
    h(
      "button",
      {
        type: "reset",
        class: "ghost",
        onclick: () => {
          filter = { limit: 200 };
          setTimeout(() => void loadExecutions());
        },
      },
      "Clear",
    ),
  );
}

async function loadExecutions(): Promise<void> {
  if (!api) return;
  const answer = await read(() => executions(api!, filter));
  if (!answer) return;
  const el = document.getElementById("exec-table");
  if (!el) return;
  mount(
    el,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", null, "Time"),
        h("th", null, "Outlet"),
        h("th", null, "SKU"),
        h("th", { class: "num" }, "Qty"),
        h("th", { class: "num" }, "Price"),
        h("th", { class: "num" }, "Value"),
        h("th", null, "Aggressor"),
        h("th", null, "From → to"),
      ),
    ),
    h(
      "tbody",
      null,
      answer.length === 0
        ? h("tr", null, h("td", { colspan: 8, class: "muted" }, "No executions match."))
        : answer.map((e) =>
            h(
              "tr",
              { dataset: { exec: `${e.outletId}:${e.execId}` } },
              h("td", { class: "muted" }, dateTime(e.ts)),
              h("td", null, e.outletId),
              h("td", { class: "mono clickable", onclick: () => selectSku(e.sku) }, e.sku),
              h("td", { class: "num" }, count(e.quantity)),
              h("td", { class: "num" }, money(e.price)),
              h("td", { class: "num" }, money(e.price * e.quantity)),
              h("td", null, e.aggressor ? h("span", { class: `badge ${e.aggressor}` }, e.aggressor) : ""),
              h(
                "td",
                { class: "muted small" },
                `${e.inflowAccountId ?? "?"} → ${e.outflowAccountId ?? "?"}${e.holdId ? ` (hold)` : ""}`,
              ),
            ),
          ),
    ),
  );
}

start();
