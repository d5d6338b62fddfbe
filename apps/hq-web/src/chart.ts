import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from "lightweight-charts";
import type { Candle } from "./hq-api.ts";

/** A candlestick chart with volume below; prices arrive in minor units and show as 3.99. */
export class CandleChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<"Candlestick">;
  private readonly volume: ISeriesApi<"Histogram">;
  private readonly resize: ResizeObserver;
  private key = "";

  constructor(container: HTMLElement) {
    this.chart = createChart(container, {
      height: 300,
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: "#ffffff" },
        textColor: "#4a5266",
        fontSize: 11,
        attributionLogo: false,
      },
      grid: { vertLines: { color: "#f0f1f4" }, horzLines: { color: "#f0f1f4" } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#e3e6ec" },
      rightPriceScale: { borderColor: "#e3e6ec" },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: "#14804a",
      downColor: "#c23a2b",
      borderVisible: false,
      wickUpColor: "#14804a",
      wickDownColor: "#c23a2b",
      priceFormat: { type: "custom", minMove: 1, formatter: (p: number) => (p / 100).toFixed(2) },
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      color: "#b8c4e0",
      priceFormat: { type: "volume" },
      priceScaleId: "volume",
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
    this.resize = new ResizeObserver(() => this.chart.timeScale().fitContent());
    this.resize.observe(container);
  }

  /** Replaces the data; a new sku or resolution fits the view, an update keeps it. */
  set(key: string, data: Candle[]): void {
    const sorted = [...data].sort((a, b) => a.start - b.start);
    this.candles.setData(
      sorted.map((c) => ({
        time: Math.floor(c.start / 1000) as UTCTimestamp,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
      })),
    );
    this.volume.setData(
      sorted.map((c) => ({
        time: Math.floor(c.start / 1000) as UTCTimestamp,
        value: c.volume,
        color: c.close >= c.open ? "rgba(20,128,74,0.35)" : "rgba(194,58,43,0.35)",
      })),
    );
    if (key !== this.key) {
      this.key = key;
      this.chart.timeScale().fitContent();
    }
  }

  /** One live candle: the last bar updated, or a new one appended; false when it is older than the last bar. */
  update(c: Candle): boolean {
    const time = Math.floor(c.start / 1000) as UTCTimestamp;
    try {
      this.candles.update({ time, open: c.open, high: c.high, low: c.low, close: c.close });
      this.volume.update({
        time,
        value: c.volume,
        color: c.close >= c.open ? "rgba(20,128,74,0.35)" : "rgba(194,58,43,0.35)",
      });
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.resize.disconnect();
    this.chart.remove();
  }
}
