/**
 * Decodes a plan's files straight into a decode cache file (decode_cache.ts,
 * format 2), so memory stays flat in the number of images:
 *
 * - chunks come back from the worker pool in input order (a bounded reorder
 *   window) and are appended to `<dir>/<key>.partial`;
 * - a corrupt file is skipped: not written, its label dropped, its label text
 *   and reason recorded; any other error aborts (the partial file stays);
 * - about every second (or every few thousand images) the data is fdatasync'd
 *   and `<dir>/<key>.progress` rewritten atomically, so a killed decode
 *   resumes where that file says, after truncating the partial file to it;
 * - at the end the labels and the header are appended, the header offset is
 *   patched in, and the file is fsync'd and renamed to `<dir>/<key>.bin`;
 * - `<dir>/<key>.lock` (created exclusively) makes one process decode while
 *   others for the same key wait; a lock whose process is gone on this host
 *   is taken over.
 */
import { join, resolve } from "node:path";
import {
  CACHE_FORMAT,
  CACHE_MAGIC,
  cacheHead,
  type CacheHeader,
  type CacheHeaderJson,
  cacheKey,
  cachePath,
  IMAGES_OFFSET,
  labelBytes,
  openCacheHeader,
} from "./decode_cache.ts";
import {
  allCorruptError,
  autoWorkers,
  decodeChunks,
  type DecodedChunk,
  mergeSides,
  type SkippedFile,
  type SourceSides,
} from "./decode_pool.ts";
import {
  type DecodeProgress,
  type DecodeStats,
  formatBytes,
  formatCount,
  ProgressMeter,
  skippedClause,
  summaryLine,
} from "./decode_progress.ts";
import { decoderId } from "./native_decoder.ts";
import { DataError, describeError } from "./errors.ts";
import type { DecodePlan, DecodeSpec } from "./decode_spec.ts";
import { syncDir, writeFileAtomic } from "../io/atomic.ts";

/** Options of {@link decodeToCache}. */
export interface DecodeToCacheOptions {
  /** The cache folder (created when missing). */
  dir: string;
  /** The cache key; default {@link planCacheKey}. */
  key?: string;
  /** Decode workers; default autoWorkers of the files left to decode. */
  workers?: number;
  /** Progress events: at most ~4 a second while decoding, and one per phase change. */
  onProgress?: (p: DecodeProgress) => void;
  /**
   * Free bytes on the disk holding `dir` (e.g. statvfs); when given, a disk
   * too small for what is left to write is a DataError before anything is
   * written. When absent, no check.
   */
  diskAvailable?: (dir: string) => number;
  /**
   * How often the decoded data is made durable and `.progress` rewritten:
   * after this many input files or seconds, whichever comes first (default
   * 4096 files or 1 s). Tests make it small.
   */
  commitEvery?: { images?: number; seconds?: number };
  /** Called after each commit with the committed position (tests pause here). */
  afterCommit?: (at: { next: number; written: number }) => void | Promise<void>;
}

/** The lock file's content. */
interface LockInfo {
  pid: number;
  hostname: string;
  started: string;
}

/** The `.progress` file: what the partial file holds, durably. */
interface ProgressFile {
  format: number;
  key: string;
  spec: DecodeSpec;
  /** Input files in the plan. */
  files: number;
  /** Next input index to decode. */
  next: number;
  /** Images in the partial file (next less the skipped). */
  written: number;
  /** The skipped files so far, with their input index (the labels follow from it). */
  skipped: (SkippedFile & { index: number })[];
  sourceSides: SourceSides | null;
}

/** The cache folder cannot be written: the caller may decode in memory instead. */
export class CacheUnwritableError extends DataError {
  constructor(dir: string, cause: unknown) {
    super(
      `${dir}: cannot write the decode cache (${describeError(cause)}); point BYOL_CACHE_DIR ` +
        `at a writable folder or pass cache: false`,
      { cause },
    );
    this.name = "CacheUnwritableError";
  }
}

/**
 * The cache key of a plan: the loader kind, the spec, the decoder (JPEG
 * pixels differ between libjpeg and imagescript), the source, the labels and
 * class names (they are part of what is cached) and every input file's path,
 * size and mtime. Workers are not part of it: they do not change the bytes.
 */
export function planCacheKey(plan: DecodePlan, spec: DecodeSpec): Promise<string> {
  return cacheKey(
    plan.kind,
    {
      spec,
      decoder: decoderId(),
      source: resolve(plan.source),
      labels: plan.labels ? Array.from(plan.labels) : null,
      classes: plan.classes,
    },
    [...(plan.extraFiles ?? []), ...plan.paths],
  );
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/** Whether `pid` runs on this host; true when it cannot be told (no /proc). */
function pidAlive(pid: number): boolean {
  try {
    Deno.statSync("/proc/self");
  } catch {
    return true;
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.length;) o += await f.write(bytes.subarray(o));
}

/** A lock written but not yet filled is this old before it counts as abandoned. */
const UNREADABLE_LOCK_MS = 10_000;

type LockState =
  | { kind: "taken" }
  | { kind: "gone" }
  | { kind: "held"; info: LockInfo | null; raw: string }
  | { kind: "stale"; info: LockInfo | null; raw: string };

async function tryLock(lock: string, dir: string): Promise<LockState> {
  try {
    using f = await Deno.open(lock, { write: true, createNew: true });
    const info: LockInfo = {
      pid: Deno.pid,
      hostname: hostname(),
      started: new Date().toISOString(),
    };
    await writeAll(f, new TextEncoder().encode(JSON.stringify(info)));
    return { kind: "taken" };
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw new CacheUnwritableError(dir, err);
  }
  let raw: string;
  let mtime: Date | null;
  try {
    raw = await Deno.readTextFile(lock);
    mtime = (await Deno.stat(lock)).mtime;
  } catch {
    return { kind: "gone" };
  }
  let info: LockInfo | null = null;
  try {
    const o = JSON.parse(raw);
    if (Number.isSafeInteger(o?.pid) && typeof o?.hostname === "string") info = o;
  } catch { /* being written, or damaged */ }
  if (info === null) {
    // Created but not yet filled (or damaged): abandoned only once it is old.
    const old = mtime !== null && Date.now() - mtime.getTime() > UNREADABLE_LOCK_MS;
    return old ? { kind: "stale", info: null, raw } : { kind: "held", info: null, raw };
  }
  if (info.hostname === hostname() && !pidAlive(info.pid)) return { kind: "stale", info, raw };
  return { kind: "held", info, raw };
}

/** Removes a stale lock unless it changed since it was read (another process took it over). */
async function removeStaleLock(lock: string, raw: string): Promise<void> {
  try {
    if (await Deno.readTextFile(lock) === raw) await Deno.remove(lock);
  } catch { /* gone already */ }
}

/** Reads `.progress` and checks it against the plan and the partial file; null when unusable. */
async function loadProgress(
  progressPath: string,
  partialPath: string,
  key: string,
  spec: DecodeSpec,
  files: number,
  per: number,
): Promise<ProgressFile | null> {
  let p: ProgressFile;
  try {
    p = JSON.parse(await Deno.readTextFile(progressPath));
  } catch {
    return null;
  }
  const int = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (
    p === null || typeof p !== "object" || p.format !== CACHE_FORMAT || p.key !== key ||
    JSON.stringify(p.spec) !== JSON.stringify(spec) || p.files !== files || !int(p.next) ||
    !int(p.written) || p.next > files || !Array.isArray(p.skipped) ||
    p.written + p.skipped.length !== p.next ||
    !p.skipped.every((s) => int(s?.index) && s.index < p.next && typeof s.path === "string")
  ) return null;
  try {
    using f = await Deno.open(partialPath, { read: true });
    if ((await f.stat()).size < IMAGES_OFFSET + p.written * per) return null;
    const magic = new Uint8Array(8);
    let n = 0;
    while (n < 8) {
      const r = await f.read(magic.subarray(n));
      if (r === null) return null;
      n += r;
    }
    if (new TextDecoder().decode(magic) !== CACHE_MAGIC) return null;
  } catch {
    return null;
  }
  return p;
}

/**
 * Decodes `plan.paths` into the cache file `<dir>/<key>.bin`, or finds it
 * there already finished; returns its path, its validated header and how the
 * decode went. See the module comment for the protocol. Corrupt files are
 * skipped and named (`header.skipped`, `stats.skipped`); when every file is
 * corrupt, a DataError.
 */
export async function decodeToCache(
  plan: DecodePlan,
  spec: DecodeSpec,
  opts: DecodeToCacheOptions,
): Promise<{ path: string; header: CacheHeader; stats: DecodeStats }> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const dir = resolve(opts.dir);
  const key = opts.key ?? await planCacheKey(plan, spec);
  const path = cachePath(dir, key);
  const lock = join(dir, `${key}.lock`);
  const n = plan.paths.length;
  const per = spec.channels * spec.height * spec.width;
  const meter = new ProgressMeter(opts.onProgress, n);
  const shape = `${spec.channels}x${spec.height}x${spec.width}`;

  const finished = async (): Promise<CacheHeader | null> => {
    const h = await openCacheHeader(path);
    const fits = h !== null && h.key === key && h.files === n && h.channels === spec.channels &&
      h.height === spec.height && h.width === spec.width && h.labeled === (plan.labels !== null);
    return fits ? h : null;
  };
  const fromCache = (header: CacheHeader) => {
    const stats: DecodeStats = {
      decoded: header.length,
      skipped: header.skipped,
      fromCache: true,
      resumedAt: 0,
      seconds: seconds(),
      workers: 0,
      sourceSides: header.sourceSides,
    };
    const skipped = header.skipped.length > 0 ? `; ${skippedClause(header.skipped)}` : "";
    meter.phase(
      "done",
      n,
      `decode cache: ${formatCount(header.length)} images of ${shape} from ${path}${skipped}`,
    );
    return { path, header, stats };
  };

  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new CacheUnwritableError(dir, err);
  }
  let waitReported = false;
  for (;;) {
    const hit = await finished();
    if (hit !== null) return fromCache(hit);
    const state = await tryLock(lock, dir);
    if (state.kind === "taken") break;
    if (state.kind === "gone") continue;
    if (state.kind === "stale") {
      const who = state.info === null
        ? "an unreadable lock"
        : `the lock of process ${state.info.pid}, which is no longer running`;
      meter.phase("plan", 0, `decode cache: removing ${who}; taking over the decode of ${path}`);
      await removeStaleLock(lock, state.raw);
      continue;
    }
    if (!waitReported && state.info !== null) {
      waitReported = true;
      const where = state.info.hostname === hostname() ? "" : ` on ${state.info.hostname}`;
      meter.phase(
        "wait",
        0,
        `waiting for process ${state.info.pid}${where} to finish decoding ${path}`,
      );
    }
    await delay(250);
  }
  try {
    // Another process may have finished between our check and our lock.
    const hit = await finished();
    if (hit !== null) return fromCache(hit);
    return await decodeLocked(plan, spec, opts, { dir, key, path, per, meter, shape, t0 });
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

async function decodeLocked(
  plan: DecodePlan,
  spec: DecodeSpec,
  opts: DecodeToCacheOptions,
  ctx: {
    dir: string;
    key: string;
    path: string;
    per: number;
    meter: ProgressMeter;
    shape: string;
    t0: number;
  },
): Promise<{ path: string; header: CacheHeader; stats: DecodeStats }> {
  const { dir, key, path, per, meter } = ctx;
  const n = plan.paths.length;
  const partial = join(dir, `${key}.partial`);
  const progressPath = join(dir, `${key}.progress`);
  const labeled = plan.labels !== null;

  const resumed = await loadProgress(progressPath, partial, key, spec, n, per);
  const state: ProgressFile = resumed ?? {
    format: CACHE_FORMAT,
    key,
    spec,
    files: n,
    next: 0,
    written: 0,
    skipped: [],
    sourceSides: null,
  };
  const resumedAt = state.next;

  const need = (n - state.next) * per + (labeled ? 4 * n : 0) + 65536;
  if (opts.diskAvailable) {
    const free = opts.diskAvailable(dir);
    if (free < need) {
      throw new DataError(
        `${dir}: the decode cache needs ${formatBytes(need)} more, the disk has ` +
          `${formatBytes(free)} free; free space or point BYOL_CACHE_DIR at a disk with room`,
      );
    }
  }
  meter.phase(
    "plan",
    state.next,
    `decode cache: ${formatCount(n)} images of ${ctx.shape} = ${formatBytes(n * per)} at ${path}`,
  );
  if (resumed) {
    meter.phase("plan", state.next, `resuming the decode at image ${state.next} of ${n}`);
  }

  let file: Deno.FsFile;
  if (resumed) {
    file = await Deno.open(partial, { read: true, write: true });
    // Bytes past the last commit may be partly written: drop them.
    await file.truncate(IMAGES_OFFSET + state.written * per);
    await file.seek(0, Deno.SeekMode.End);
  } else {
    await Deno.remove(progressPath).catch(() => {});
    file = await Deno.open(partial, { read: true, write: true, create: true, truncate: true });
    await writeAll(file, cacheHead(0));
  }
  try {
    const commitImages = opts.commitEvery?.images ?? 4096;
    const commitMs = (opts.commitEvery?.seconds ?? 1) * 1000;
    let committedAt = performance.now();
    let committedNext = state.next;
    const commit = async () => {
      await file.syncData();
      await writeFileAtomic(progressPath, JSON.stringify(state));
      committedAt = performance.now();
      committedNext = state.next;
      await opts.afterCommit?.({ next: state.next, written: state.written });
    };
    const workers = opts.workers ?? autoWorkers(n - state.next);
    meter.start(state.next);
    meter.phase("decode", state.next);
    await decodeChunks(plan.paths, spec, workers, async (c: DecodedChunk) => {
      await writeAll(file, c.data);
      for (const f of c.failures) {
        state.skipped.push({ index: f.index, path: plan.label(f.index), reason: f.message });
      }
      state.written += c.data.length / per;
      state.next = c.first + c.count;
      state.sourceSides = mergeSides(state.sourceSides, c.sourceSides);
      meter.update(state.next);
      if (
        state.next < n &&
        (state.next - committedNext >= commitImages || performance.now() - committedAt >= commitMs)
      ) await commit();
    }, { start: state.next });

    const skipped = state.skipped.map(({ path, reason }) => ({ path, reason }));
    if (state.written === 0) {
      file.close();
      await Deno.remove(partial).catch(() => {});
      await Deno.remove(progressPath).catch(() => {});
      throw allCorruptError(plan.source, n, skipped);
    }
    let labelsOut = new Uint8Array(0);
    if (plan.labels !== null) {
      const kept = new Int32Array(state.written);
      let s = 0, k = 0;
      const skippedIdx = state.skipped.map((x) => x.index).sort((a, b) => a - b);
      for (let i = 0; i < n; i++) {
        if (s < skippedIdx.length && skippedIdx[s] === i) s++;
        else kept[k++] = plan.labels[i];
      }
      labelsOut = labelBytes(kept);
    }
    const header: CacheHeaderJson = {
      format: CACHE_FORMAT,
      key,
      length: state.written,
      channels: spec.channels,
      height: spec.height,
      width: spec.width,
      labeled,
      classes: plan.classes,
      source: plan.source,
      files: n,
      skipped,
      sourceSides: state.sourceSides ?? { min: 0, max: 0 },
    };
    const headerOffset = IMAGES_OFFSET + state.written * per + labelsOut.length;
    await file.truncate(IMAGES_OFFSET + state.written * per);
    await file.seek(0, Deno.SeekMode.End);
    await writeAll(file, labelsOut);
    await writeAll(file, new TextEncoder().encode(JSON.stringify(header)));
    await file.seek(0, Deno.SeekMode.Start);
    await writeAll(file, cacheHead(headerOffset).subarray(0, 16));
    await file.sync();
    file.close();
    await Deno.rename(partial, path);
    await syncDir(dir);
    await Deno.remove(progressPath).catch(() => {});

    const done = await openCacheHeader(path);
    if (done === null) throw new Error(`${path}: the decode cache just written does not validate`);
    const stats: DecodeStats = {
      decoded: done.length,
      skipped,
      fromCache: false,
      resumedAt,
      seconds: (performance.now() - ctx.t0) / 1000,
      workers: Math.min(workers, n - resumedAt),
      sourceSides: done.sourceSides,
    };
    meter.phase("done", n, summaryLine(stats, n));
    return { path, header: done, stats };
  } finally {
    try {
      file.close();
    } catch { /* closed above */ }
  }
}
