// Memory-mapped files (ffi/files.ts over native/mapped_file.cpp): mapFile's
// bytes, lifetime and private writes, its errors, the memory a mapped read
// takes, adviseRows, diskAvailable and tensorBytes. Every file is a temp file,
// removed at the end.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  adviseRows,
  arange,
  diskAvailable,
  full,
  liveTensorCount,
  mapFile,
  type Tensor,
  tensor,
  tensorBytes,
  tidy,
  TorchError,
} from "../../mod.ts";

const linux = Deno.build.os === "linux";

/** A temp folder for one test, removed afterwards. */
function withTempDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "byol-map-" });
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** n bytes with no short period (so a map one byte off cannot match). */
function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + (i >>> 8) * 7 + seed) & 255;
  return out;
}

/** The first index where a and b differ, or -1 (and -2 when the lengths differ). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const d = firstDifference(actual, expected);
  assert(
    d === -1,
    d === -2
      ? `${what}: ${actual.length} bytes, expected ${expected.length}`
      : `${what}: byte ${d} is ${actual[d]}, expected ${expected[d]}`,
  );
}

/** Lines of /proc/self/maps naming `path` (the process's maps of that file). */
function mapsOf(path: string): number {
  return Deno.readTextFileSync("/proc/self/maps").split("\n").filter((l) => l.includes(path))
    .length;
}

/** A field of /proc/self/status in bytes (RssAnon, RssFile, RssShmem). */
function status(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
    Deno.readTextFileSync("/proc/self/status"),
  );
  if (m === null) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]) * 1024;
}

const MiB = 1 << 20;

Deno.test("mapFile: every byte at offsets 0, 1, 4095 and 4097, in 1 and 4 dims", () => {
  withTempDir((dir) => {
    const path = `${dir}/cache.bin`;
    const bytes = pattern(5 * 4096 + 123);
    Deno.writeFileSync(path, bytes);
    for (const offset of [0, 1, 4095, 4097]) {
      const n = bytes.length - offset;
      tidy(() => {
        const t = mapFile(path, { offset, shape: [n] });
        assertEquals([t.shape, t.dtype, t.device], [[n], "uint8", "cpu"]);
        const want = bytes.subarray(offset);
        assertBytes(t.toBytes(), want, `offset ${offset}, copied out`);
        assertBytes(tensorBytes(t), want, `offset ${offset}, tensorBytes`);
        // Four dims, ending before the file does.
        const shape = [2, 3, 5, 7];
        const t4 = mapFile(path, { offset, shape });
        assertEquals(t4.shape, shape);
        assertBytes(t4.toBytes(), bytes.subarray(offset, offset + 210), `offset ${offset}, 4-d`);
        // A gather reads the rows at their places.
        const rows = t4.indexSelect(0, arange(1, -1, -1, { dtype: "int64" }));
        const want4 = [...bytes.subarray(offset + 105, offset + 210)].concat([
          ...bytes.subarray(offset, offset + 105),
        ]);
        assertBytes(rows.toBytes(), Uint8Array.from(want4), `offset ${offset}, gathered`);
      });
    }
  });
});

Deno.test("mapFile: a zero-length map is an empty tensor, also at the file's end", () => {
  withTempDir((dir) => {
    const path = `${dir}/cache.bin`;
    Deno.writeFileSync(path, pattern(100));
    tidy(() => {
      for (
        const [offset, shape] of [[0, [0]], [100, [0]], [37, [3, 0, 2]], [100, [4, 0]]] as const
      ) {
        const t = mapFile(path, { offset, shape: [...shape] });
        assertEquals([t.shape, t.numel, t.dtype], [[...shape], 0, "uint8"]);
        assertEquals(tensorBytes(t).length, 0);
      }
      if (linux) assertEquals(mapsOf(path), 0, "nothing is mapped for zero bytes");
      // Zero bytes past the end are still past the end.
      assertThrows(() => mapFile(path, { offset: 101, shape: [0] }), TorchError, "holds 100 bytes");
    });
    // An empty file, and a 0-dim tensor (one byte).
    Deno.writeFileSync(path, new Uint8Array(0));
    tidy(() => assertEquals(mapFile(path, { shape: [0] }).numel, 0));
    Deno.writeFileSync(path, Uint8Array.of(201, 7));
    tidy(() => assertEquals(mapFile(path, { offset: 1, shape: [] }).item(), 7));
  });
});

Deno.test("mapFile: the tensor and its views outlive the file's unlink; the map goes with the last", () => {
  withTempDir((dir) => {
    const path = `${dir}/cache.bin`;
    const bytes = pattern(3 * 4096 + 5, 9);
    Deno.writeFileSync(path, bytes);
    const before = liveTensorCount();
    const t = mapFile(path, { offset: 3, shape: [4, 3 * 1024 + 0] }); // 12288 bytes from 3
    if (linux) assertEquals(mapsOf(path), 1, "one map of the file");
    Deno.removeSync(path);
    assertBytes(t.toBytes(), bytes.subarray(3, 3 + 12288), "after the unlink");
    const view = t.narrow(0, 2, 2);
    t.dispose();
    assertBytes(view.toBytes(), bytes.subarray(3 + 6144, 3 + 12288), "a view after its base");
    if (linux) assertEquals(mapsOf(path), 1, "the view holds the map");
    view.dispose();
    if (linux) assertEquals(mapsOf(path), 0, "the last tensor freed unmaps the file");
    assertEquals(liveTensorCount(), before);
    // tidy frees a map made inside it.
    Deno.writeFileSync(path, bytes);
    tidy(() => void mapFile(path, { shape: [100] }));
    if (linux) assertEquals(mapsOf(path), 0, "tidy freed the map");
    assertEquals(liveTensorCount(), before);
  });
});

Deno.test("mapFile: a write through the tensor changes the tensor, never the file", () => {
  withTempDir((dir) => {
    const path = `${dir}/cache.bin`;
    const bytes = pattern(3 * 4096, 3);
    Deno.writeFileSync(path, bytes);
    tidy(() => {
      const t = mapFile(path, { offset: 1, shape: [3, 4095] });
      t.narrow(0, 1, 1).fill_(0);
      tensorBytes(t)[0] = 255 - bytes[1];
      const seen = t.toBytes();
      assertEquals(seen[0], 255 - bytes[1]);
      assert(seen.subarray(4095, 8190).every((b) => b === 0), "the tensor shows the write");
      assertBytes(Deno.readFileSync(path), bytes, "the file after writes through the tensor");
      assertBytes(mapFile(path, { shape: [bytes.length] }).toBytes(), bytes, "a new map");
    });
  });
});

Deno.test("mapFile: a missing or short file fails in one line naming the path and the fix", () => {
  withTempDir((dir) => {
    const path = `${dir}/cache.bin`;
    let e = assertThrows(() => mapFile(path, { shape: [4] }), TorchError);
    assertEquals(e.message, `map_file: ${path}: cannot open: No such file or directory`);
    Deno.writeFileSync(path, pattern(1000));
    e = assertThrows(() => mapFile(path, { offset: 10, shape: [991] }), TorchError);
    assertEquals(
      e.message,
      `map_file: ${path}: holds 1000 bytes, the map needs 1001: the cache file is truncated; ` +
        "delete it to rebuild",
    );
    e = assertThrows(() => mapFile(path, { offset: 2000, shape: [10, 10] }), TorchError);
    assert(e.message.includes("the map needs 2100"), e.message);
    e = assertThrows(() => mapFile(dir, { shape: [1] }), TorchError);
    assertEquals(e.message, `map_file: ${dir}: not a regular file (a directory)`);
    e = assertThrows(() => mapFile(path, { shape: [2 ** 40, 2 ** 40] }), TorchError);
    assert(e.message.includes("more than 2^63 bytes"), e.message);
    assert(!e.message.includes("\n"), "one line");
    // Arguments are checked before the shim sees them.
    assertThrows(() => mapFile(path, { shape: [2, -1] }), RangeError, "options.shape[1]");
    assertThrows(() => mapFile(path, { shape: [2.5] }), TypeError, "options.shape[0]");
    assertThrows(() => mapFile(path, { offset: -1, shape: [1] }), RangeError, "options.offset");
    assertThrows(() => mapFile(path, { offset: 0.5, shape: [1] }), TypeError, "options.offset");
    assertThrows(() => mapFile("", { shape: [1] }), RangeError, "path");
    assertThrows(() => mapFile(7 as unknown as string, { shape: [1] }), TypeError, "path");
    assertThrows(
      () => mapFile(path, undefined as unknown as { shape: number[] }),
      TypeError,
      "options",
    );
    assertThrows(
      () => mapFile(path, { shape: [1], ofset: 1 } as unknown as { shape: number[] }),
      TypeError,
      `did you mean "offset"?`,
    );
  });
});

Deno.test({
  name: "mapFile: reading a 256 MiB map in small gathered batches grows RssAnon by far less",
  ignore: !linux,
  fn: () => {
    withTempDir((dir) => {
      const path = `${dir}/cache.bin`;
      // 16384 rows of 4 x 64 x 64 bytes (16 KiB): 256 MiB, written 4 MiB at a time so this
      // process never holds the file's bytes itself. Row r is (start(r) + j) & 255.
      const rowBytes = 4 * 64 * 64, nrows = 16384, perChunk = 256;
      const start = (r: number) => (r * 7 + (r >>> 8)) & 255;
      {
        const chunk = new Uint8Array(rowBytes * perChunk);
        using f = Deno.openSync(path, { write: true, create: true, truncate: true });
        for (let c = 0; c < nrows / perChunk; c++) {
          for (let k = 0; k < perChunk; k++) {
            const s = start(c * perChunk + k);
            for (let j = 0; j < rowBytes; j++) chunk[k * rowBytes + j] = (s + j) & 255;
          }
          let w = 0;
          while (w < chunk.length) w += f.writeSync(chunk.subarray(w));
        }
      }
      const fileBefore = status("RssFile") + status("RssShmem");
      const anonBefore = status("RssAnon");
      const data = mapFile(path, { shape: [nrows, 4, 64, 64] });
      // Every row once, in an order that jumps about the file, 64 rows (1 MiB) a batch.
      const batch = 64;
      const order = new BigInt64Array(batch);
      let checked = 0;
      for (let b = 0; b < nrows / batch; b++) {
        for (let k = 0; k < batch; k++) order[k] = BigInt(((b * batch + k) * 7919) % nrows);
        tidy(() => {
          const rows = data.indexSelect(0, tensor(order));
          const got = tensorBytes(rows);
          for (let k = 0; k < batch; k++) {
            const s = start(Number(order[k]));
            const base = k * rowBytes;
            for (let j = 0; j < rowBytes; j++) {
              if (got[base + j] !== ((s + j) & 255)) {
                throw new Error(`row ${order[k]}: byte ${j} is ${got[base + j]}`);
              }
            }
            checked++;
          }
        });
      }
      const anonGrowth = status("RssAnon") - anonBefore;
      const fileGrowth = status("RssFile") + status("RssShmem") - fileBefore;
      data.dispose();
      assertEquals(checked, nrows);
      // A copy of the data would be 256 MiB of anonymous memory; the map's read pages are the
      // page cache's. The rest is the batches (1 MiB, reused) and the indices.
      assert(
        anonGrowth < 64 * MiB,
        `RssAnon grew by ${(anonGrowth / MiB).toFixed(1)} MiB reading a 256 MiB map`,
      );
      assert(
        fileGrowth > 32 * MiB,
        `the read pages are file pages: RssFile grew by ${(fileGrowth / MiB).toFixed(1)} MiB`,
      );
    });
  },
});

Deno.test({
  name: "mapFile maps a file larger than memory and swap (a sparse file): nothing is reserved",
  ignore: !linux,
  fn: () => {
    // Without MAP_NORESERVE the kernel's overcommit heuristic refuses a private writable map
    // larger than RAM + swap; under vm.overcommit_memory 2 every such map is refused.
    if (Deno.readTextFileSync("/proc/sys/vm/overcommit_memory").trim() === "2") return;
    const info = Deno.readTextFileSync("/proc/meminfo");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(info)![1]);
    const rows = Math.ceil(2 * (kb("MemTotal") + kb("SwapTotal")) / 4);
    withTempDir((dir) => {
      const path = `${dir}/sparse.bin`;
      Deno.writeFileSync(path, new Uint8Array(0));
      Deno.truncateSync(path, rows * 4096 + 1);
      if ((Deno.statSync(path).blocks ?? 0) * 512 > MiB) return; // not sparse here: no test
      tidy(() => {
        const t = mapFile(path, { offset: 1, shape: [rows, 4096] });
        assertEquals(t.shape, [rows, 4096]);
        const last = t.narrow(0, rows - 1, 1);
        last.fill_(3); // a private page, the only memory the map takes
        assertEquals(last.sum().item(), 3 * 4096);
        assertEquals(t.narrow(0, rows - 2, 1).sum().item(), 0);
      });
    });
  },
});

Deno.test("adviseRows on a mapped tensor: advice never changes the bytes; dontneed drops private writes of whole pages", () => {
  withTempDir((dir) => {
    const path = `${dir}/cache.bin`;
    // Rows of 64 KiB: whole pages for every page size Linux uses (4, 16 or 64 KiB).
    const row = 64 * 1024;
    const bytes = pattern(8 * row, 5);
    Deno.writeFileSync(path, bytes);
    tidy(() => {
      const t = mapFile(path, { shape: [8, row] });
      adviseRows(t, [0, 5, 6, 7, 1, 6], "willneed");
      adviseRows(t, Int32Array.of(2, 3), "willneed");
      adviseRows(t, [], "willneed");
      for (const a of ["random", "sequential", "normal"] as const) adviseRows(t, null, a);
      adviseRows(t, [4], "sequential"); // rows ignored
      assertBytes(t.toBytes(), bytes, "after willneed and the access hints");
      adviseRows(t, [1, 2], "dontneed");
      assertBytes(t.toBytes(), bytes, "clean pages dropped read the file again");
      // Private writes to rows 3 and 4; dropping row 3 brings the file's bytes back there and
      // leaves row 4's write.
      t.narrow(0, 3, 2).fill_(9);
      adviseRows(t, [3], "dontneed");
      const seen = t.toBytes();
      assertBytes(seen.subarray(3 * row, 4 * row), bytes.subarray(3 * row, 4 * row), "row 3");
      assert(seen.subarray(4 * row, 5 * row).every((b) => b === 9), "row 4 keeps its write");
      // A view's rows are its own: row 0 of t[4:] is t's row 4.
      adviseRows(t.narrow(0, 4, 4), [0], "dontneed");
      assertBytes(t.toBytes(), bytes, "row 4 dropped through a view");
      assertBytes(Deno.readFileSync(path), bytes, "the file");
    });
  });
});

Deno.test("adviseRows dontneed keeps a page shared with a row not listed; a one-page map drops whole", () => {
  withTempDir((dir) => {
    const path = `${dir}/cache.bin`;
    const bytes = pattern(20 * 1000 + 1, 2);
    Deno.writeFileSync(path, bytes);
    tidy(() => {
      const t = mapFile(path, { offset: 1, shape: [20, 1000] });
      t.narrow(0, 5, 1).fill_(3);
      adviseRows(t, [4, 6], "dontneed");
      assert(t.narrow(0, 5, 1).toBytes().every((b) => b === 3), "row 5's page is kept");
      // The whole map, all rows listed: every page goes, the write too.
      adviseRows(t, [...Array(20).keys()], "dontneed");
      assertBytes(t.toBytes(), bytes.subarray(1), "all rows dropped");
      // A map smaller than a page, at an unaligned offset.
      const small = mapFile(path, { offset: 4097, shape: [1, 100] });
      small.fill_(1);
      adviseRows(small, [0], "dontneed");
      assertBytes(small.toBytes(), bytes.subarray(4097, 4197), "the one row's page dropped");
    });
  });
});

Deno.test({
  name: "adviseRows dontneed takes read pages of a map out of the process's RSS",
  ignore: !linux,
  fn: () => {
    withTempDir((dir) => {
      const path = `${dir}/cache.bin`;
      const row = 64 * 1024, nrows = 512; // 32 MiB
      const f = Deno.openSync(path, { write: true, create: true, truncate: true });
      const chunk = pattern(row * 64, 1);
      for (let c = 0; c < nrows / 64; c++) {
        let w = 0;
        while (w < chunk.length) w += f.writeSync(chunk.subarray(w));
      }
      f.close();
      tidy(() => {
        const t = mapFile(path, { shape: [nrows, row] });
        const file = () => status("RssFile") + status("RssShmem");
        const before = file();
        let sum = 0;
        const view = tensorBytes(t);
        for (let i = 0; i < view.length; i += 4096) sum += view[i];
        const read = file();
        assert(sum > 0 && read - before > 16 * MiB, `reading mapped ${(read - before) / MiB} MiB`);
        adviseRows(t, [...Array(nrows).keys()], "dontneed");
        const dropped = read - file();
        assert(dropped > 16 * MiB, `dontneed dropped ${(dropped / MiB).toFixed(1)} MiB`);
      });
    });
  },
});

Deno.test("adviseRows on memory it did not map: valid, and never changes a byte", () => {
  tidy(() => {
    const t = full([16, 5000], 7, { dtype: "uint8" });
    adviseRows(t, [1, 2, 15], "willneed");
    adviseRows(t, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], "dontneed");
    for (const a of ["random", "sequential", "normal"] as const) adviseRows(t, null, a);
    assert(t.toBytes().every((b) => b === 7), "the heap tensor's bytes are kept");
    const f = full([4, 3], 1.5);
    adviseRows(f, [3], "dontneed");
    assertEquals(f.sum().item(), 18);
  });
});

Deno.test("adviseRows: bad rows, advice and tensors fail in one line naming them", () => {
  tidy(() => {
    const t = full([10, 4], 0, { dtype: "uint8" });
    let e = assertThrows(() => adviseRows(t, [3, 10], "willneed"), TorchError);
    assertEquals(e.message, "advise_rows: rows[1] = 10 is out of range for a tensor of 10 rows");
    e = assertThrows(() => adviseRows(t, Int32Array.of(0, 99), "dontneed"), TorchError);
    assert(e.message.includes("rows[1] = 99"), e.message);
    assertThrows(() => adviseRows(t, [1, -1], "willneed"), RangeError, "rows[1]");
    assertThrows(() => adviseRows(t, Int32Array.of(-4), "willneed"), RangeError, "rows[0]");
    assertThrows(() => adviseRows(t, [0.5], "willneed"), TypeError, "rows[0]");
    assertThrows(() => adviseRows(t, null, "willneed"), TypeError, "rows");
    assertThrows(() => adviseRows(t, null, "dontneed"), TypeError, "rows");
    assertThrows(
      () => adviseRows(t, [1], "later" as "willneed"),
      TypeError,
      `advice must be one of "normal", "random", "sequential", "willneed", "dontneed"`,
    );
    assertThrows(() => adviseRows(t, "1" as unknown as number[], "willneed"), TypeError, "rows");
    assertThrows(() => adviseRows(t.T, [1], "willneed"), TorchError, "contiguous");
    assertThrows(() => adviseRows(full([], 1), [0], "willneed"), TorchError, "0-dim");
    const gone = full([2], 0);
    gone.dispose();
    assertThrows(() => adviseRows(gone, [0], "willneed"), TorchError, "disposed");
  });
});

Deno.test({
  name: "diskAvailable: what df reports for the temp folder; a missing path fails naming it",
  ignore: !linux,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "byol-df-" });
    try {
      const ours = diskAvailable(dir);
      const out = await new Deno.Command("df", { args: ["-B1", "--output=avail", dir] }).output();
      assert(out.success, "df ran");
      const df = Number(new TextDecoder().decode(out.stdout).trim().split("\n")[1]);
      assert(ours > 0, `diskAvailable ${ours}`);
      // Another process may write between the two reads.
      assert(Math.abs(ours - df) < 16 * MiB, `diskAvailable ${ours}, df ${df}`);
      const missing = `${dir}/no/such/folder`;
      const e = assertThrows(() => diskAvailable(missing), TorchError);
      assertEquals(e.message, `disk_available: ${missing}: No such file or directory`);
      assertThrows(() => diskAvailable(""), RangeError, "path");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("tensorBytes: the tensor's own memory, no copy; only contiguous CPU uint8 tensors", () => {
  tidy(() => {
    const t = arange(0, 12, 1, { dtype: "uint8" }).reshape([3, 4]);
    const b = tensorBytes(t);
    assertEquals([...b], [...Array(12).keys()]);
    b[5] = 200;
    assertEquals(t.toBytes()[5], 200);
    t.fill_(4);
    assertEquals(b[11], 4);
    assertEquals(tensorBytes(t.narrow(0, 1, 2))[0], 4, "a contiguous view starts at its offset");
    assertEquals(tensorBytes(full([0, 3], 0, { dtype: "uint8" })).length, 0);
    assertThrows(() => tensorBytes(full([2], 0)), TypeError, "uint8");
    assertThrows(() => tensorBytes(t.T), TypeError, "contiguous");
    assertThrows(() => tensorBytes([1, 2] as unknown as Tensor), TypeError, "a Tensor");
  });
});
