/**
 * Progress of a long decode: the events decodeToCache and the in-memory
 * decode send, the statistics they end with, and `terminalProgress`, which
 * prints them.
 */
import type { SkippedFile, SourceSides } from "./decode_pool.ts";

/** One progress event. */
export interface DecodeProgress {
  /**
   * "plan": what will be decoded (size, path, a resume); "decode": images
   * done so far; "wait": another process holds the decode; "done": finished
   * (message: the summary).
   */
  phase: "plan" | "decode" | "wait" | "done";
  /** A line for the user (phase changes; not the periodic decode updates). */
  message?: string;
  /** Input files processed (decoded or skipped), a resumed decode's earlier ones included. */
  done: number;
  /** Input files in all. */
  total: number;
  /** Input files per second in this run (0 before the first chunk). */
  imagesPerSecond: number;
  /** Seconds left at the current rate; null when unknown. */
  etaSeconds: number | null;
}

/** How a decode went. */
export interface DecodeStats {
  /** Images in the result (the input files less the skipped ones). */
  decoded: number;
  /** The corrupt files left out: label (the path, or CSV line and path) and why. */
  skipped: SkippedFile[];
  /** True when the set came from a finished cache file and nothing was decoded. */
  fromCache: boolean;
  /** Input index this run started decoding at: > 0 for a resumed decode. */
  resumedAt: number;
  /** Seconds this run spent (waiting for a lock included). */
  seconds: number;
  /** Decode workers used (0: the main thread). */
  workers: number;
  /** The shorter side of the source images, min and max. */
  sourceSides: SourceSides;
}

/** 160000 -> "160,000". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Bytes in GB (decimal), or MB / kB for small sizes, two decimals: "6.02 GB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  return `${(bytes / 1e3).toFixed(2)} kB`;
}

/** Seconds as "0.3s", "45s", "3m02s" or "2h05m". */
export function formatDuration(seconds: number): string {
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "decoding 12,345/160,000 images (7.7%), 850 img/s, ETA 3m02s". */
export function progressLine(p: DecodeProgress): string {
  const pct = p.total > 0 ? (100 * p.done) / p.total : 100;
  const eta = p.etaSeconds === null ? "?" : formatDuration(p.etaSeconds);
  return `decoding ${formatCount(p.done)}/${formatCount(p.total)} images (${pct.toFixed(1)}%), ` +
    `${formatCount(p.imagesPerSecond)} img/s, ETA ${eta}`;
}

/** How many skipped files a summary names before "and N more". */
const NAMED_SKIPS = 5;

/** The skipped files as one clause: "skipped 2 corrupt files: a (why), b (why)". */
export function skippedClause(skipped: SkippedFile[]): string {
  const s = skipped.length;
  const named = skipped.slice(0, NAMED_SKIPS).map((f) => `${f.path} (${f.reason})`).join(", ");
  const more = s > NAMED_SKIPS ? ` and ${formatCount(s - NAMED_SKIPS)} more` : "";
  return `skipped ${formatCount(s)} corrupt file${s === 1 ? "" : "s"}: ${named}${more}`;
}

/**
 * "decoded 160,000 images in 3m12s (833 img/s, 16 workers); skipped 2 corrupt
 * files: ...". The rate counts this run's images only.
 */
export function summaryLine(stats: DecodeStats, total: number): string {
  const thisRun = total - stats.resumedAt;
  const rate = stats.seconds > 0 ? thisRun / stats.seconds : 0;
  const who = stats.workers > 0
    ? `${stats.workers} worker${stats.workers === 1 ? "" : "s"}`
    : "main thread";
  const resumed = stats.resumedAt > 0 ? ` (resumed at image ${formatCount(stats.resumedAt)})` : "";
  const skipped = stats.skipped.length > 0 ? `; ${skippedClause(stats.skipped)}` : "";
  return `decoded ${formatCount(stats.decoded)} images${resumed} in ` +
    `${formatDuration(stats.seconds)} (${formatCount(rate)} img/s, ${who})${skipped}`;
}

/**
 * Sends progress events: every phase change, and decode updates at most
 * every `intervalMs` (4 a second by default).
 */
export class ProgressMeter {
  #last = -Infinity;
  #t0 = performance.now();
  #done0 = 0;
  constructor(
    readonly onProgress: ((p: DecodeProgress) => void) | undefined,
    readonly total: number,
    readonly intervalMs = 250,
  ) {}

  /** Starts the clock for the rate; `done` files were processed before (a resume). */
  start(done: number): void {
    this.#t0 = performance.now();
    this.#done0 = done;
  }

  #event(phase: DecodeProgress["phase"], done: number, message?: string): DecodeProgress {
    const seconds = (performance.now() - this.#t0) / 1000;
    const rate = seconds > 0 ? (done - this.#done0) / seconds : 0;
    const eta = rate > 0 ? (this.total - done) / rate : done >= this.total ? 0 : null;
    return {
      phase,
      ...(message === undefined ? {} : { message }),
      done,
      total: this.total,
      imagesPerSecond: rate,
      etaSeconds: eta,
    };
  }

  /** A phase change or a message: always sent. */
  phase(phase: DecodeProgress["phase"], done: number, message?: string): void {
    this.onProgress?.(this.#event(phase, done, message));
  }

  /** A decode update: sent when the last one is `intervalMs` old, or at the end. */
  update(done: number): void {
    if (!this.onProgress) return;
    const now = performance.now();
    if (now - this.#last < this.intervalMs && done < this.total) return;
    this.#last = now;
    this.onProgress(this.#event("decode", done));
  }
}

/** What terminalProgress writes to: Deno.stderr, Deno.stdout or a test double. */
export interface ProgressStream {
  writeSync(p: Uint8Array): number;
  isTerminal(): boolean;
}

/**
 * A progress callback that prints to `stream`. On a terminal the decode is
 * one line rewritten in place with \r; off a terminal (a log file) it prints
 * a line at each 10%. Messages get their own lines; the decode ends with a
 * newline and the summary.
 */
export function terminalProgress(
  stream: ProgressStream = Deno.stderr,
): (p: DecodeProgress) => void {
  const tty = stream.isTerminal();
  const enc = new TextEncoder();
  let open = 0; // length of the line being rewritten, 0 when none
  let tenth = 0; // off a terminal: the last tenth printed
  const write = (s: string) => {
    const b = enc.encode(s);
    for (let o = 0; o < b.length;) o += stream.writeSync(b.subarray(o));
  };
  return (p) => {
    if (p.phase === "decode" && p.message === undefined) {
      const line = progressLine(p);
      if (tty) {
        write(`\r${line}${" ".repeat(Math.max(0, open - line.length))}`);
        open = line.length;
      } else {
        const t = p.total > 0 ? Math.floor((10 * p.done) / p.total) : 10;
        if (t > tenth) {
          tenth = t;
          write(`${line}\n`);
        }
      }
      return;
    }
    if (open > 0) {
      write("\n");
      open = 0;
    }
    if (p.message !== undefined) write(`${p.message}\n`);
    if (p.phase === "done") tenth = 0;
  };
}
