import { join } from "node:path";
import { csvImages, imageFolder, type ImageSet } from "../../src/data/mod.ts";
import {
  type CacheHeader,
  cacheKey,
  cachePath,
  defaultCacheDir,
  readCache,
  readImages,
  writeCache,
} from "../../src/data/decode_cache.ts";
import { assert, assertBytes, assertEquals } from "./_assert.ts";
import { encodePng, noise, tempDir, writeBytes } from "./_helpers.ts";

async function cacheFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/** root/<class>/<i>.png, gray 6x5 noise images. */
async function folder(root: string, n: number) {
  for (let i = 0; i < n; i++) {
    await writeBytes(join(root, `k${i % 2}`, `${i}.png`), encodePng(6, 5, 0, noise(30, i + 1)));
  }
}

function sameSet(a: ImageSet, b: ImageSet, what: string) {
  assertEquals(
    [a.length, a.channels, a.height, a.width, a.classes, a.source],
    [b.length, b.channels, b.height, b.width, b.classes, b.source],
    what,
  );
  assertBytes(a.images, b.images, what);
  assertEquals(a.labels && Array.from(a.labels), b.labels && Array.from(b.labels), what);
}

/**
 * Rewrites `path` and sets its mtime 10 s past the old one, so the change is
 * seen whatever the filesystem's timestamp granularity and the machine's speed
 * (a short sleep between the writes was not enough on every filesystem).
 */
async function rewrite(path: string, write: () => Promise<void>): Promise<void> {
  const old = (await Deno.stat(path)).mtime!;
  await write();
  const t = new Date(old.getTime() + 10_000);
  await Deno.utime(path, t, t);
}

Deno.test("decode cache: second load is a hit with identical data", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await folder(data.path, 6);
  const opts = { size: 4, channels: 3 as const, cacheDir: cache.path };
  const first = await imageFolder(data.path, opts);
  const files = await cacheFiles(cache.path);
  assertEquals(files.length, 1);
  assert(files[0].endsWith(".bin"), files[0]);
  const second = await imageFolder(data.path, opts);
  sameSet(second, first, "hit");
  // Prove it came from the cache: break an image but keep its size and mtime,
  // which is all the key looks at. A miss would now fail to decode.
  const victim = join(data.path, "k0", "0.png");
  const st = await Deno.stat(victim);
  const bytes = await Deno.readFile(victim);
  bytes.fill(0x33, 30, bytes.length - 12);
  await Deno.writeFile(victim, bytes);
  await Deno.utime(victim, st.atime!, st.mtime!);
  sameSet(await imageFolder(data.path, opts), first, "hit despite changed bytes");
  // cache: false bypasses it and sees the broken file, which it skips.
  const fresh = await imageFolder(data.path, { ...opts, cache: false });
  assertEquals(fresh.length, 5, "cache: false must decode the files");
  assertEquals(fresh.skipped?.map((s) => s.path), [victim]);
});

Deno.test("decode cache: options, file changes and added files change the key", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await folder(data.path, 4);
  const base = { size: 4, channels: 3 as const, cacheDir: cache.path };
  await imageFolder(data.path, base);
  await imageFolder(data.path, { ...base, channels: 1 });
  await imageFolder(data.path, { ...base, size: 5 });
  await imageFolder(data.path, { ...base, labeled: false });
  assertEquals((await cacheFiles(cache.path)).length, 4);
  // A rewritten file (new mtime) is a miss and its new pixels are seen.
  const p = join(data.path, "k1", "1.png");
  const before = await imageFolder(data.path, { ...base, size: [5, 6], channels: 1 });
  const px = new Uint8Array(30).fill(77);
  await rewrite(p, () => Deno.writeFile(p, encodePng(6, 5, 0, px)));
  const after = await imageFolder(data.path, { ...base, size: [5, 6], channels: 1 });
  // Order: k0/0.png, k0/2.png, k1/1.png, k1/3.png.
  assertBytes(after.images.subarray(60, 90), px);
  assert(before.images[60] !== 77 || before.images[61] !== 77, "test image must change");
  // A new file is a miss too.
  await writeBytes(join(data.path, "k1", "9.png"), encodePng(6, 5, 0, noise(30, 99)));
  assertEquals((await imageFolder(data.path, base)).length, 5);
  // Workers do not change the result, so they are not part of the key.
  const n = (await cacheFiles(cache.path)).length;
  await imageFolder(data.path, { ...base, workers: 2 });
  assertEquals((await cacheFiles(cache.path)).length, n);
});

// The images are not hashed (a 190 GB file cannot be read at each open): the
// checks are the magic, the header offset, the header's fields and the size.
Deno.test("decode cache: a damaged or incomplete cache file is ignored and rewritten", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await folder(data.path, 5);
  const opts = { size: [5, 6] as [number, number], channels: 1 as const, cacheDir: cache.path };
  const fresh = await imageFolder(data.path, { ...opts, cache: false });
  await imageFolder(data.path, opts);
  const [name] = await cacheFiles(cache.path);
  const file = join(cache.path, name);
  const good = await Deno.readFile(file);
  const edit = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  const headerAt = Number(new DataView(good.buffer).getBigUint64(8, true));
  const headerText = new TextDecoder().decode(good.subarray(headerAt));
  assert(headerText.includes('"length":5') && headerText.includes('"format":2'), headerText);
  const withHeader = (text: string) =>
    new Uint8Array([...good.subarray(0, headerAt), ...new TextEncoder().encode(text)]);
  const corruptions: [string, Uint8Array][] = [
    ["truncated", good.slice(0, good.length - 7)],
    ["truncated to the images", good.slice(0, 4096 + 60)],
    ["extra bytes", new Uint8Array([...good, 1, 2, 3])],
    ["garbage", noise(good.length, 5)],
    ["empty", new Uint8Array(0)],
    ["incomplete (header offset 0)", edit((_, v) => v.setBigUint64(8, 0n, true))],
    ["header offset off by one", edit((_, v) => v.setBigUint64(8, BigInt(headerAt + 1), true))],
    ["format 1 magic", edit((b) => b.set(new TextEncoder().encode("BYOLDC01")))],
    ["bad header json", edit((b) => (b[b.length - 1] = 0x20))],
    ["header of another length", withHeader(headerText.replace('"length":5', '"length":4'))],
    ["header of another format", withHeader(headerText.replace('"format":2', '"format":3'))],
  ];
  for (const [what, bytes] of corruptions) {
    await Deno.writeFile(file, bytes);
    sameSet(await imageFolder(data.path, opts), fresh, what);
    assertBytes(await Deno.readFile(file), good, `${what}: rewritten`);
  }
  // No temp files left behind.
  assertEquals(await cacheFiles(cache.path), [name]);
});

Deno.test("decode cache: csvImages uses it and the CSV itself is part of the key", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await folder(data.path, 2);
  const csv = join(data.path, "l.csv");
  await Deno.writeTextFile(csv, "k0/0.png,1\nk1/1.png,0\n");
  const opts = { size: 3, channels: 3 as const, cacheDir: cache.path };
  const a = await csvImages(csv, opts);
  sameSet(await csvImages(csv, opts), a, "csv hit");
  assertEquals((await cacheFiles(cache.path)).length, 1);
  await rewrite(csv, () => Deno.writeTextFile(csv, "k0/0.png,5\nk1/1.png,0\n"));
  const b = await csvImages(csv, opts);
  assertEquals(Array.from(b.labels!), [5, 0]);
  assertEquals((await cacheFiles(cache.path)).length, 2);
});

Deno.test("decode cache: readCache/writeCache round trip, unlabeled, wrong key", async () => {
  await using cache = await tempDir();
  const set: ImageSet = {
    length: 3,
    channels: 2,
    height: 1,
    width: 5,
    images: noise(30, 3),
    labels: null,
    classes: null,
    source: "/some/where",
  };
  const key = await cacheKey("test", { x: 1 }, []);
  assertEquals(await readCache(cache.path, key), null);
  const path = await writeCache(cache.path, key, set);
  assertEquals(path, cachePath(cache.path, key));
  sameSet((await readCache(cache.path, key))!, set, "unlabeled round trip");
  const labeled = { ...set, labels: Int32Array.from([0, 2, 1]), classes: ["a", "b", "c"] };
  await writeCache(cache.path, key, labeled);
  sameSet((await readCache(cache.path, key))!, labeled, "labeled round trip");
  // A file stored under another key's name is not trusted.
  const other = await cacheKey("test", { x: 2 }, []);
  assert(other !== key);
  await Deno.copyFile(cachePath(cache.path, key), cachePath(cache.path, other));
  assertEquals(await readCache(cache.path, other), null);
  // An unwritable cache folder is not an error (caching is best effort).
  const blocker = join(cache.path, "file-not-dir");
  await Deno.writeTextFile(blocker, "x");
  assertEquals(await writeCache(join(blocker, "sub"), key, set), null);
});

Deno.test("decode cache: folder from BYOL_CACHE_DIR, XDG_CACHE_HOME, then ~/.cache", () => {
  const keys = ["BYOL_CACHE_DIR", "XDG_CACHE_HOME", "HOME"];
  const saved = keys.map((k) => Deno.env.get(k));
  try {
    Deno.env.set("HOME", "/home/u");
    Deno.env.set("XDG_CACHE_HOME", "/xdg");
    Deno.env.set("BYOL_CACHE_DIR", "/explicit/c");
    assertEquals(defaultCacheDir(), "/explicit/c");
    Deno.env.delete("BYOL_CACHE_DIR");
    assertEquals(defaultCacheDir(), "/xdg/byol-deno");
    Deno.env.delete("XDG_CACHE_HOME");
    assertEquals(defaultCacheDir(), "/home/u/.cache/byol-deno");
  } finally {
    keys.forEach((k, i) =>
      saved[i] === undefined ? Deno.env.delete(k) : Deno.env.set(k, saved[i]!)
    );
  }
});

Deno.test("decode cache: default location honours BYOL_CACHE_DIR for real loads", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await folder(data.path, 2);
  const saved = Deno.env.get("BYOL_CACHE_DIR");
  try {
    Deno.env.set("BYOL_CACHE_DIR", cache.path);
    await imageFolder(data.path, { size: 3, channels: 1 });
    assertEquals((await cacheFiles(cache.path)).length, 1);
  } finally {
    if (saved === undefined) Deno.env.delete("BYOL_CACHE_DIR");
    else Deno.env.set("BYOL_CACHE_DIR", saved);
  }
});

Deno.test("decode cache: mapped gets the finished file; an unwritable folder decodes in memory", async () => {
  await using data = await tempDir();
  await using cache = await tempDir();
  await folder(data.path, 4);
  const opts = { size: 3, channels: 1 as const, cacheDir: cache.path };
  const plain = await imageFolder(data.path, opts);
  const calls: [string, CacheHeader][] = [];
  const mapped = await imageFolder(data.path, {
    ...opts,
    mapped: (path, header) => {
      calls.push([path, header]);
      return { ...plain, source: "mapped" };
    },
  });
  assertEquals(mapped.source, "mapped");
  assertEquals(calls.length, 1);
  const [[path, header]] = calls;
  assertEquals([path, header.length, header.imagesOffset], [
    join(cache.path, (await cacheFiles(cache.path))[0]),
    4,
    4096,
  ]);
  assertBytes(await readImages(path, header), plain.images);
  // A cache folder that cannot be made: decoded in memory, and said so.
  const blocker = join(cache.path, "file-not-dir");
  await Deno.writeTextFile(blocker, "x");
  const messages: string[] = [];
  const set = await imageFolder(data.path, {
    ...opts,
    cacheDir: join(blocker, "sub"),
    onProgress: (p) => p.message && messages.push(p.message),
  });
  sameSet(set, plain, "in memory");
  assert(
    messages[0].includes("cannot write the decode cache") &&
      messages[0].endsWith("decoding in memory"),
    messages[0],
  );
});
