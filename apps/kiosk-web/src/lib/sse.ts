/**
 * Server-Sent Events over fetch, so the request can carry an Authorization header (the
 * browser's EventSource cannot). Reconnects with backoff until stopped.
 */
export interface LiveStreamOptions {
  url: string;
  headers: Record<string, string>;
  onEvent: (event: string, data: unknown) => void;
  /** true when connected, false when (re)connecting. */
  onState?: (connected: boolean, error?: string) => void;
  /** Keep-alive: with no bytes for this long the connection counts as dead (the server pings every 15 s). */
  idleMs?: number;
  /** Answers that end the stream for good instead of a retry (default 401, 403, 404). */
  giveUpOn?: number[];
}

/** An answer that will not change by retrying. */
export class StreamRefusedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class LiveStream {
  private controller: AbortController | null = null;
  private stopped = false;

  constructor(private readonly options: LiveStreamOptions) {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  /** False once stopped, or refused for good. */
  get active(): boolean {
    return !this.stopped;
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      const controller = new AbortController();
      this.controller = controller;
      let error: string | undefined;
      try {
        await this.once(controller, () => {
          backoff = 500;
        });
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        if (e instanceof StreamRefusedError) {
          this.stopped = true;
          this.options.onState?.(false, error);
          return;
        }
      }
      if (this.stopped) return;
      this.options.onState?.(false, error);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  private async once(controller: AbortController, onOpen: () => void): Promise<void> {
    const res = await fetch(this.options.url, {
      headers: { ...this.options.headers, accept: "text/event-stream" },
      signal: controller.signal,
      cache: "no-store",
    });
    if (!res.ok || !res.body) {
      let title = `${res.status}`;
      try {
        title = ((await res.json()) as { title?: string }).title ?? title;
      } catch {}
      if ((this.options.giveUpOn ?? [401, 403, 404]).includes(res.status))
        throw new StreamRefusedError(res.status, title);
      throw new Error(title);
    }
    onOpen();
    this.options.onState?.(true);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const idleMs = this.options.idleMs ?? 40_000;
    let idle = setTimeout(() => controller.abort(), idleMs);
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream closed");
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(), idleMs);
        buffer += value.replaceAll("\r\n", "\n");
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          this.dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      }
    } finally {
      clearTimeout(idle);
    }
  }

  private dispatch(block: string): void {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      parsed = data.join("\n");
    }
    this.options.onEvent(event, parsed);
  }
}
