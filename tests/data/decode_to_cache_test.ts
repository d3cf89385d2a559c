import { join } from "node:path";
import type { DecodeSpec } from "../../src/data/decode.ts";
import {
  type CacheHeader,
  IMAGES_OFFSET,
  openCacheHeader,
  readCache,
  readImages,
} from "../../src/data/decode_cache.ts";
import { decodeChunks, decodeFiles } from "../../src/data/decode_pool.ts";
import {
  type DecodeProgress,
  type ProgressStream,
  terminalProgress,
} from "../../src/data/decode_progress.ts";
import { decodeToCache, planCacheKey } from "../../src/data/decode_to_cache.ts";
import type { DecodePlan } from "../../src/data/load_images.ts";
import { assert, assertBytes, assertEquals } from "./_assert.ts";
import { CHILD_SPEC, type ChildArgs, folderPlan } from "./_decode_child.ts";
import { assertDataError, encodePng, noise, rgbaImage, tempDir, writeBytes } from "./_helpers.ts";

const spec: DecodeSpec = CHILD_SPEC;

/** Source size of file i: mixed, the first 8 large so early chunks finish late. */
function sizeOf(i: number): [number, number] {
  return i < 8 ? [150 + i, 110] : [7 + (i % 9), 5 + (i % 6)];
}

/**
 * `n` images named 0000.png / 0000.jpg ... in `root`: RGB PNGs of mixed sizes,
 * every 7th a JPEG; `corrupt` indices get bytes that do not decode (three kinds).
 */
async function writeImages(root: string, n: number, corrupt: number[] = []): Promise<void> {
  for (let i = 0; i < n; i++) {
    const [w, h] = sizeOf(i);
    const name = String(i).padStart(4, "0");
    if (corrupt.includes(i)) {
      const kinds = [
        new TextEncoder().encode("not an image"),
        encodePng(w, h, 2, noise(w * h * 3, i + 1)).subarray(0, 30),
        new Uint8Array([0xff, 0xd8, 0xff, ...noise(40, i)]),
      ];
      await writeBytes(join(root, `${name}.png`), kinds[i % 3]);
    } else if (i % 7 === 3) {
      const px = noise(w * h * 4, i + 1);
      const img = rgbaImage(w, h, (x, y) => {
        const k = 4 * (y * w + x);
        return [px[k], px[k + 1], px[k + 2], 255];
      });
      await writeBytes(join(root, `${name}.jpg`), await img.encodeJPEG(85));
    } else {
      await writeBytes(join(root, `${name}.png`), encodePng(w, h, 2, noise(w * h * 3, i + 1)));
    }
  }
}

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/** The plan restricted to the files not in `drop` (what a decode that skipped them holds). */
function without(plan: DecodePlan, drop: number[]): { paths: string[]; labels: number[] } {
  const keep = plan.paths.map((_, i) => i).filter((i) => !drop.includes(i));
  return { paths: keep.map((i) => plan.paths[i]), labels: keep.map((i) => plan.labels![i]) };
}

/** Checks a finished cache file's bytes against the expected images, labels and header. */
async function assertCacheFile(
  path: string,
  header: CacheHeader,
  images: Uint8Array,
  labels: number[],
) {
  const bytes = await Deno.readFile(path);
  const per = spec.channels * spec.height * spec.width;
  assertEquals(new TextDecoder().decode(bytes.subarray(0, 8)), "BYOLDC02");
  const offset = Number(new DataView(bytes.buffer).getBigUint64(8, true));
  assertEquals(offset, IMAGES_OFFSET + labels.length * per + 4 * labels.length);
  assert(bytes.subarray(16, IMAGES_OFFSET).every((b) => b === 0), "bytes 16..4096 are zero");
  assertBytes(bytes.subarray(IMAGES_OFFSET, IMAGES_OFFSET + images.length), images, "images");
  const lab = new DataView(bytes.buffer, IMAGES_OFFSET + images.length, 4 * labels.length);
  assertEquals(Array.from(labels, (_, i) => lab.getInt32(4 * i, true)), labels, "label bytes");
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(offset)));
  const { imagesOffset, labels: headerLabels, ...rest } = header;
  assertEquals(json, rest, "the JSON header is what openCacheHeader returns");
  assertEquals(imagesOffset, IMAGES_OFFSET);
  assertEquals(headerLabels && Array.from(headerLabels), labels, "header labels");
  assertBytes(await readImages(path, header), images, "readImages");
}

Deno.test("decodeToCache: the file equals decodeFiles byte for byte (PNG, JPEG, mixed sizes, workers 0 and 2)", async () => {
  await using data = await tempDir();
  await writeImages(data.path, 120);
  const plan = await folderPlan(data.path);
  const ref = await decodeFiles(plan.paths, spec, 0);
  const labels = Array.from(plan.labels!);
  const key = await planCacheKey(plan, spec);
  const sides = Array.from({ length: 120 }, (_, i) => Math.min(...sizeOf(i)));
  const files: Uint8Array[] = [];
  for (const workers of [0, 2]) {
    await using cache = await tempDir();
    const events: DecodeProgress[] = [];
    const r = await decodeToCache(plan, spec, {
      dir: cache.path,
      workers,
      onProgress: (p) => events.push(p),
    });
    assertEquals(r.path, join(cache.path, `${key}.bin`));
    assertEquals(
      [r.stats.fromCache, r.stats.decoded, r.stats.resumedAt, r.stats.skipped],
      [false, 120, 0, []],
    );
    assertEquals(r.stats.workers, workers);
    const header = await openCacheHeader(r.path);
    assert(header !== null, "the finished file validates");
    assertEquals(header, r.header);
    const { imagesOffset: _, labels: __, ...json } = header;
    assertEquals(json, {
      format: 2,
      key,
      length: 120,
      channels: 3,
      height: 12,
      width: 10,
      labeled: true,
      classes: ["a", "b", "c"],
      source: data.path,
      files: 120,
      skipped: [],
      sourceSides: { min: Math.min(...sides), max: Math.max(...sides) },
    });
    assertEquals(r.stats.sourceSides, json.sourceSides);
    await assertCacheFile(r.path, header, ref, labels);
    const set = (await readCache(cache.path, key))!;
    assertBytes(set.images, ref, "readCache");
    assertEquals(Array.from(set.labels!), labels);
    assertEquals([set.skipped, set.sourceSides], [[], json.sourceSides]);
    // Only the finished file is left.
    assertEquals(await listDir(cache.path), [`${key}.bin`]);
    // Progress: the plan line, decode updates that never go back, the summary.
    assertEquals(events[0].phase, "plan");
    assertEquals(
      events[0].message,
      `decode cache: 120 images of 3x12x10 = 43.20 kB at ${r.path}`,
    );
    const decode = events.filter((e) => e.phase === "decode");
    assert(decode.length >= 1);
    for (let i = 1; i < decode.length; i++) assert(decode[i].done >= decode[i - 1].done);
    const last = events[events.length - 1];
    assertEquals([last.phase, last.done, last.total], ["done", 120, 120]);
    assert(last.message!.startsWith("decoded 120 images in "), last.message);
    // A second call finds it.
    const again = await decodeToCache(plan, spec, { dir: cache.path, workers });
    assertEquals([again.stats.fromCache, again.stats.decoded], [true, 120]);
    files.push(await Deno.readFile(r.path));
  }
  assertBytes(files[1], files[0], "workers 0 and 2 write the same file");
});

Deno.test("decodeChunks: chunks come in input order; at most 3 per worker are pending", async () => {
  await using data = await tempDir();
  await writeImages(data.path, 160);
  const plan = await folderPlan(data.path);
  const ref = await decodeFiles(plan.paths, spec, 0);
  const per = spec.channels * spec.height * spec.width;
  for (const workers of [1, 2, 3]) {
    let next = 0;
    let maxPending = 0;
    const out = new Uint8Array(ref.length);
    await decodeChunks(plan.paths, spec, workers, async (c) => {
      assertEquals(c.first, next, "chunks arrive in input order");
      out.set(c.data, c.first * per);
      next += c.count;
      // A slow writer: the workers run ahead until the window is full.
      await new Promise((r) => setTimeout(r, 5));
    }, { onDispatch: (p) => (maxPending = Math.max(maxPending, p)) });
    assertEquals(next, 160);
    assertBytes(out, ref, `workers ${workers}`);
    assert(maxPending <= 3 * workers, `${maxPending} chunks pending with ${workers} workers`);
  }
});

Deno.test("decodeToCache: corrupt files are skipped and named, the others keep their labels", async () => {
  await using data = await tempDir();
  const bad = [3, 17, 38, 39];
  await writeImages(data.path, 40, bad);
  const plan = await folderPlan(data.path);
  const good = without(plan, bad);
  const ref = await decodeFiles(good.paths, spec, 0);
  for (const workers of [0, 2]) {
    await using cache = await tempDir();
    const r = await decodeToCache(plan, spec, { dir: cache.path, workers });
    assertEquals([r.header.length, r.header.files, r.stats.decoded], [36, 40, 36]);
    assertEquals(r.header.skipped.map((s) => s.path), bad.map((i) => plan.paths[i]));
    for (const s of r.header.skipped) assert(s.reason.includes("corrupt"), s.reason);
    assertEquals(r.stats.skipped, r.header.skipped);
    await assertCacheFile(r.path, r.header, ref, good.labels);
    const last: DecodeProgress[] = [];
    await decodeToCache(plan, spec, { dir: cache.path, onProgress: (p) => last.push(p) });
    assert(last.at(-1)!.message!.includes("skipped 4 corrupt files: "), last.at(-1)!.message);
  }
  // Nothing decodes: a DataError with the count and the first files, and nothing left behind.
  await using cache = await tempDir();
  const allBad: DecodePlan = { ...plan, paths: bad.map((i) => plan.paths[i]) };
  allBad.labels = new Int32Array(bad.length);
  allBad.label = (i) => allBad.paths[i];
  await assertDataError(
    decodeToCache(allBad, spec, { dir: cache.path }),
    "all 4 image files failed to decode",
    allBad.paths[0],
    allBad.paths[2],
  );
  assertEquals(await listDir(cache.path), []);
});

Deno.test("decodeToCache: a disk too small is one DataError before anything is written", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await writeImages(data.path, 10);
  const plan = await folderPlan(data.path);
  const asked: string[] = [];
  const dir = join(cache.path, "sub");
  await assertDataError(
    decodeToCache(plan, spec, {
      dir,
      diskAvailable: (d) => {
        asked.push(d);
        return 1000;
      },
    }),
    `${dir}: the decode cache needs 69.18 kB more, the disk has 1.00 kB free; free space or ` +
      "point BYOL_CACHE_DIR at a disk with room",
  );
  assertEquals(asked, [dir]);
  assertEquals(await listDir(dir), []);
  const r = await decodeToCache(plan, spec, { dir, diskAvailable: () => 1e12 });
  assertEquals(r.stats.decoded, 10);
});

Deno.test("decodeToCache: a truncated or incomplete file is not found, and the next call decodes again", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await writeImages(data.path, 20, [5]);
  const plan = await folderPlan(data.path);
  const first = await decodeToCache(plan, spec, { dir: cache.path });
  const good = await Deno.readFile(first.path);
  const offsetZero = good.slice();
  offsetZero.fill(0, 8, 16);
  const damaged: [string, Uint8Array][] = [
    ["one byte short", good.slice(0, good.length - 1)],
    ["only the images", good.slice(0, IMAGES_OFFSET + 19 * 360)],
    ["only the head", good.slice(0, IMAGES_OFFSET)],
    ["shorter than the head", good.slice(0, 100)],
    ["header offset 0 (incomplete)", offsetZero],
  ];
  for (const [what, bytes] of damaged) {
    await Deno.writeFile(first.path, bytes);
    assertEquals(await openCacheHeader(first.path), null, what);
    const r = await decodeToCache(plan, spec, { dir: cache.path });
    assertEquals([r.stats.fromCache, r.stats.decoded], [false, 19], what);
    assertBytes(await Deno.readFile(first.path), good, `${what}: decoded again`);
  }
  assertEquals(await openCacheHeader(join(cache.path, "absent.bin")), null);
  // Whole files whose header does not fit their size: one image short, another width.
  const at = Number(new DataView(good.buffer).getBigUint64(8, true));
  const json = new TextDecoder().decode(good.subarray(at));
  const header = (text: string) => new TextEncoder().encode(text);
  const shortOne = new Uint8Array([
    ...good.subarray(0, IMAGES_OFFSET + 18 * 360),
    ...good.subarray(IMAGES_OFFSET + 19 * 360, at),
    ...header(json),
  ]);
  new DataView(shortOne.buffer).setBigUint64(8, BigInt(at - 360), true);
  assert(json.includes('"width":10'), json);
  const wider = new Uint8Array([
    ...good.subarray(0, at),
    ...header(json.replace('"width":10', '"width":11')),
  ]);
  for (const [what, bytes] of [["one image short", shortOne], ["another width", wider]] as const) {
    await Deno.writeFile(first.path, bytes);
    assertEquals(await openCacheHeader(first.path), null, what);
  }
  await Deno.writeFile(first.path, good);
  assert(await openCacheHeader(first.path) !== null, "the good file again");
});

/** Starts a child decode (see _decode_child.ts). */
function spawnChild(args: ChildArgs): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_decode_child.ts", import.meta.url).pathname,
      JSON.stringify(args),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Kills a child that may have exited already. */
function killQuietly(child: Deno.ChildProcess) {
  try {
    child.kill("SIGKILL");
  } catch { /* exited */ }
}

/** A child's output: its progress messages and final stats. */
async function childResult(child: Deno.ChildProcess) {
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  assert(out.success, `child failed (${out.code}):\n${text}\n${err}`);
  const messages = text.split("\n").filter((l) => l.startsWith("MESSAGE ")).map((l) => l.slice(8));
  const result = text.split("\n").find((l) => l.startsWith("RESULT "));
  assert(result !== undefined, `no result:\n${text}\n${err}`);
  return { messages, stats: JSON.parse(result.slice(7)) as { fromCache: boolean } };
}

/** An uninterrupted in-process decode of `plan` in a fresh folder: the reference file. */
async function referenceFile(plan: DecodePlan): Promise<Uint8Array> {
  await using cache = await tempDir();
  const r = await decodeToCache(plan, spec, { dir: cache.path, workers: 0 });
  return await Deno.readFile(r.path);
}

Deno.test("decodeToCache: a decode killed midway resumes where it committed and ends with the same file", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await writeImages(data.path, 300, [2, 290]);
  const plan = await folderPlan(data.path);
  const key = await planCacheKey(plan, spec);
  const progress = join(cache.path, `${key}.progress`);
  const partial = join(cache.path, `${key}.partial`);
  const child = spawnChild({
    root: data.path,
    dir: cache.path,
    workers: 2,
    commitImages: 16,
    pauseMs: 40,
  });
  let killedAt = -1;
  const deadline = Date.now() + 60_000;
  const status = child.status;
  let exited = false;
  status.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const p = JSON.parse(await Deno.readTextFile(progress));
      if (p.next > 0) {
        child.kill("SIGKILL");
        killedAt = p.next;
        break;
      }
    } catch { /* not there yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  killQuietly(child);
  await child.output().catch(() => {});
  assert(killedAt > 0, exited ? "the child finished before it could be killed" : "no progress");
  assertEquals(await openCacheHeader(join(cache.path, `${key}.bin`)), null, "no finished file");
  // Bytes written after the last commit (the kill lands anywhere): the resume must drop them.
  const f = await Deno.open(partial, { append: true });
  await f.write(noise(5000, 7));
  f.close();

  const events: DecodeProgress[] = [];
  const r = await decodeToCache(plan, spec, {
    dir: cache.path,
    workers: 2,
    onProgress: (p) => events.push(p),
  });
  assert(r.stats.resumedAt > 0, `resumedAt ${r.stats.resumedAt}`);
  assert(!r.stats.fromCache);
  const messages = events.flatMap((e) => (e.message ? [e.message] : []));
  // The killed child's lock was left behind: it is stale.
  assert(messages.some((m) => m.includes("which is no longer running")), messages.join("\n"));
  assert(
    messages.includes(`resuming the decode at image ${r.stats.resumedAt} of 300`),
    messages.join("\n"),
  );
  assertEquals(r.header.skipped.map((s) => s.path), [plan.paths[2], plan.paths[290]]);
  assertBytes(await Deno.readFile(r.path), await referenceFile(plan), "resumed == uninterrupted");
  assertEquals(await listDir(cache.path), [`${key}.bin`]);
});

Deno.test("decodeToCache: two processes on one key decode once and the other waits", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await writeImages(data.path, 200, [50]);
  const plan = await folderPlan(data.path);
  const args = { root: data.path, dir: cache.path, workers: 1, commitImages: 8, pauseMs: 60 };
  const children = [spawnChild(args), spawnChild(args)];
  const results = await Promise.all(children.map(childResult)).finally(() => {
    for (const c of children) killQuietly(c);
  });
  const decoded = results.filter((r) => !r.stats.fromCache);
  assertEquals(decoded.length, 1, "exactly one process decodes");
  const waiter = results.find((r) => r.stats.fromCache)!;
  const holder = children[results.indexOf(decoded[0])];
  const waits = waiter.messages.filter((m) => m.startsWith("waiting for process"));
  assertEquals(waits.length, 1, waiter.messages.join("\n"));
  assert(waits[0].startsWith(`waiting for process ${holder.pid} to finish decoding `), waits[0]);
  const key = await planCacheKey(plan, spec);
  assertEquals(await listDir(cache.path), [`${key}.bin`]);
  assertBytes(
    await Deno.readFile(join(cache.path, `${key}.bin`)),
    await referenceFile(plan),
    "the one file equals an in-process decode",
  );
});

Deno.test("decodeToCache: a stale lock is taken over; a live one is waited for", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await writeImages(data.path, 12);
  const plan = await folderPlan(data.path);
  const key = await planCacheKey(plan, spec);
  const lock = join(cache.path, `${key}.lock`);
  const lockOf = (pid: number) =>
    JSON.stringify({ pid, hostname: Deno.hostname(), started: new Date().toISOString() });
  // A process that has finished.
  const gone = new Deno.Command(Deno.execPath(), { args: ["eval", "0"] }).spawn();
  await gone.status;
  await Deno.writeTextFile(lock, lockOf(gone.pid));
  const messages: string[] = [];
  const r = await decodeToCache(plan, spec, {
    dir: cache.path,
    onProgress: (p) => p.message && messages.push(p.message),
  });
  assertEquals([r.stats.fromCache, r.stats.decoded], [false, 12]);
  assert(
    messages.some((m) => m.includes(`lock of process ${gone.pid}, which is no longer running`)),
    messages.join("\n"),
  );
  assertEquals(await listDir(cache.path), [`${key}.bin`], "the lock is removed");

  // A live holder (this very process): wait until its lock goes, then decode.
  await Deno.remove(r.path);
  await Deno.writeTextFile(lock, lockOf(Deno.pid));
  const waited: DecodeProgress[] = [];
  const release = new Promise((res) => setTimeout(res, 700)).then(() => Deno.remove(lock));
  const again = await decodeToCache(plan, spec, {
    dir: cache.path,
    onProgress: (p) => waited.push(p),
  });
  await release;
  const waits = waited.filter((p) => p.phase === "wait");
  assertEquals(waits.length, 1);
  assert(waits[0].message!.startsWith(`waiting for process ${Deno.pid} to finish decoding`));
  assertEquals([again.stats.fromCache, again.stats.decoded], [false, 12]);
  assert(again.stats.seconds >= 0.5, `did not wait: ${again.stats.seconds} s`);
});

Deno.test("terminalProgress: one rewritten line on a terminal, a line per 10% off it", () => {
  const sink = (tty: boolean) => {
    let text = "";
    const stream: ProgressStream = {
      isTerminal: () => tty,
      writeSync: (b) => {
        text += new TextDecoder().decode(b);
        return b.length;
      },
    };
    return { stream, text: () => text };
  };
  const ev = (phase: DecodeProgress["phase"], done: number, message?: string): DecodeProgress => ({
    phase,
    done,
    total: 160_000,
    imagesPerSecond: 850,
    etaSeconds: (160_000 - done) / 850,
    ...(message === undefined ? {} : { message }),
  });
  const run = (tty: boolean) => {
    const s = sink(tty);
    const show = terminalProgress(s.stream);
    show(ev("plan", 0, "decode cache: 160,000 images of 3x112x112 = 6.02 GB at /c/k.bin"));
    for (let d = 0; d <= 160_000; d += 4_000) show(ev("decode", d));
    show(ev("done", 160_000, "decoded 160,000 images in 3m12s (833 img/s, 16 workers)"));
    return s.text();
  };
  const tty = run(true);
  assert(tty.startsWith("decode cache: 160,000 images of 3x112x112 = 6.02 GB at /c/k.bin\n"));
  assert(tty.includes("\rdecoding 12,000/160,000 images (7.5%), 850 img/s, ETA 2m54s"), tty);
  assert(tty.endsWith("\ndecoded 160,000 images in 3m12s (833 img/s, 16 workers)\n"), tty);
  assertEquals(tty.split("\n").length, 4, "plan, the rewritten line, the summary");
  const log = run(false);
  assert(!log.includes("\r"));
  const lines = log.trimEnd().split("\n");
  assertEquals(lines.length, 12, log);
  assertEquals(lines[1], "decoding 16,000/160,000 images (10.0%), 850 img/s, ETA 2m49s");
  assertEquals(lines[10], "decoding 160,000/160,000 images (100.0%), 850 img/s, ETA 0.0s");
});
