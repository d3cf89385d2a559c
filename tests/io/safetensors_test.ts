import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeSafetensors,
  DTYPE_SIZE,
  encodeSafetensors,
  type RawTensor,
  readSafetensorsFile,
  type SafeDType,
  SafetensorsError,
  writeSafetensorsFile,
} from "../../src/io/safetensors.ts";
import { pythonJson } from "../helpers/python.ts";

// ---------- helpers ----------

const enc = new TextEncoder();

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

// Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => r() & 0xff);
}

// bf16 is the top half of an f32; exact for the values used here.
function bf16(values: number[]): Uint8Array {
  const f = new Float32Array(values);
  const u = new Uint32Array(f.buffer);
  return bytesOf(Uint16Array.from(u, (x) => x >>> 16));
}

function bf16ToNumbers(b: Uint8Array): number[] {
  const u16 = new Uint16Array(b.slice().buffer);
  return Array.from(new Float32Array(Uint32Array.from(u16, (x) => x << 16).buffer));
}

/** A file from a raw header text and data buffer; `declared` overrides the length field. */
function rawFile(header: string, data = new Uint8Array(0), declared?: bigint): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function headerOf(file: Uint8Array): { n: number; text: string } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { n, text: new TextDecoder().decode(file.subarray(8, 8 + n)) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const SRC = "models/bad.safetensors";

/** Decoding must throw a SafetensorsError naming the source and matching `problem`. */
function rejects(bytes: Uint8Array, problem: RegExp): SafetensorsError {
  let caught: unknown;
  try {
    decodeSafetensors(bytes, SRC);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a SafetensorsError matching ${problem}, got success`);
  assert.ok(
    caught instanceof SafetensorsError,
    `expected SafetensorsError, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`,
  );
  assert.equal(caught.source, SRC);
  assert.ok(caught.message.startsWith(`${SRC}: `), caught.message);
  assert.match(caught.message, problem);
  return caught;
}

const ALL_DTYPES = Object.keys(DTYPE_SIZE) as SafeDType[];

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "st_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

// ---------- round trips ----------

Deno.test("DTYPE_SIZE has the spec's element sizes", () => {
  assert.deepEqual(
    { ...DTYPE_SIZE },
    {
      F64: 8,
      F32: 4,
      F16: 2,
      BF16: 2,
      I64: 8,
      I32: 4,
      I16: 2,
      I8: 1,
      U8: 1,
      BOOL: 1,
      U16: 2,
      U32: 4,
      U64: 8,
    },
  );
});

Deno.test("round trip of every dtype keeps dtype, shape and exact bytes", () => {
  const tensors: Record<string, RawTensor> = {};
  ALL_DTYPES.forEach((dtype, i) => {
    const shape = [2, 3];
    tensors[`t_${dtype.toLowerCase()}`] = {
      dtype,
      shape,
      data: randomBytes(6 * DTYPE_SIZE[dtype], 100 + i),
    };
  });
  const file = encodeSafetensors(tensors);
  const out = decodeSafetensors(file);
  assert.equal(out.metadata, null);
  assert.deepEqual(Object.keys(out.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const got = out.tensors[name];
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual(got.shape, t.shape, name);
    assert.equal(hex(got.data), hex(t.data), name);
  }
});

Deno.test("round trip of empty tensors, scalars, odd names and metadata", () => {
  const tensors: Record<string, RawTensor> = {
    empty: { dtype: "F32", shape: [0], data: new Uint8Array(0) },
    empty3d: { dtype: "I64", shape: [3, 0, 2], data: new Uint8Array(0) },
    scalar: { dtype: "F64", shape: [], data: bytesOf(new Float64Array([Math.PI])) },
    flag: { dtype: "BOOL", shape: [], data: new Uint8Array([1]) },
    "layer1.0.conv1.weight": { dtype: "F16", shape: [1, 1, 1, 1], data: new Uint8Array([0, 60]) },
    'ünï "cødé"': { dtype: "U8", shape: [2], data: new Uint8Array([7, 255]) },
    "0": { dtype: "I8", shape: [1], data: new Uint8Array([0x80]) },
    // Computed key: an own property named __proto__, not a prototype.
    ["__proto__"]: { dtype: "I8", shape: [1], data: new Uint8Array([5]) },
  };
  const metadata = { format: "pt", note: 'quotes " and {braces}, ünïcødé', "": "" };
  const out = decodeSafetensors(encodeSafetensors(tensors, metadata));
  assert.deepEqual(out.metadata, metadata);
  assert.deepEqual(Object.keys(out.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const got = Object.getOwnPropertyDescriptor(out.tensors, name)?.value as RawTensor;
    assert.ok(got, name);
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual(got.shape, t.shape, name);
    assert.equal(hex(got.data), hex(t.data), name);
  }
  assert.equal(new Float64Array(out.tensors.scalar.data.slice().buffer)[0], Math.PI);
});

Deno.test("no tensors encodes to a valid, padded, empty file", () => {
  const file = encodeSafetensors({});
  assert.equal(hex(file), hex(rawFile("{}      ")));
  const out = decodeSafetensors(file);
  assert.deepEqual(out, { tensors: {}, metadata: null });
  assert.deepEqual(decodeSafetensors(encodeSafetensors({}, {})).metadata, {});
});

Deno.test("encoded layout follows the spec and the Rust crate's order", () => {
  const t = (dtype: SafeDType, n: number): RawTensor => ({
    dtype,
    shape: [n],
    data: randomBytes(n * DTYPE_SIZE[dtype], n),
  });
  const tensors = {
    "b": t("U8", 3),
    "a": t("F32", 1),
    "c": t("BF16", 3),
    "d": t("F64", 1),
    "e": t("I64", 2),
    "f": t("F32", 5),
    "10": t("I16", 1),
    "2": t("I16", 1),
  };
  const file = encodeSafetensors(tensors, { k: "v" });
  const { n, text } = headerOf(file);
  assert.equal((8 + n) % 8, 0, "data must start 8-aligned");
  assert.match(text, /^\{.*\} *$/);
  // Compact JSON, __metadata__ first, then dtype rank descending and name (UTF-8 order).
  assert.equal(
    text.trimEnd(),
    '{"__metadata__":{"k":"v"},' +
      '"e":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},' +
      '"d":{"dtype":"F64","shape":[1],"data_offsets":[16,24]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[24,28]},' +
      '"f":{"dtype":"F32","shape":[5],"data_offsets":[28,48]},' +
      '"c":{"dtype":"BF16","shape":[3],"data_offsets":[48,54]},' +
      '"10":{"dtype":"I16","shape":[1],"data_offsets":[54,56]},' +
      '"2":{"dtype":"I16","shape":[1],"data_offsets":[56,58]},' +
      '"b":{"dtype":"U8","shape":[3],"data_offsets":[58,61]}}',
  );
  assert.equal(file.length, 8 + n + 61);
  assert.equal(hex(file.subarray(8 + n, 8 + n + 16)), hex(tensors.e.data));
  assert.equal(hex(file.subarray(8 + n + 58)), hex(tensors.b.data));
});

Deno.test("decode returns views into the input and handles a non-zero byteOffset", () => {
  const tensors: Record<string, RawTensor> = {
    w: { dtype: "F32", shape: [2], data: bytesOf(new Float32Array([1.5, -2])) },
  };
  const file = encodeSafetensors(tensors);
  const big = new Uint8Array(file.length + 7);
  big.set(file, 3);
  const inner = big.subarray(3, 3 + file.length);
  const out = decodeSafetensors(inner);
  assert.equal(out.tensors.w.data.buffer, big.buffer, "data should alias the input");
  assert.equal(hex(out.tensors.w.data), hex(tensors.w.data));
  big[3 + file.length - 1] ^= 0xff;
  assert.notEqual(hex(out.tensors.w.data), hex(tensors.w.data), "a view sees later writes");
});

Deno.test("encode rejects inconsistent input with a SafetensorsError", () => {
  const cases: [Record<string, RawTensor>, Record<string, string> | undefined, RegExp][] = [
    [{ a: { dtype: "F32", shape: [3], data: new Uint8Array(8) } }, undefined, /8 bytes.*needs 12/],
    [
      { a: { dtype: "F128" as SafeDType, shape: [1], data: new Uint8Array(16) } },
      undefined,
      /unknown dtype F128/,
    ],
    [{ a: { dtype: "U8", shape: [-1], data: new Uint8Array(0) } }, undefined, /non-negative/],
    [{ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }, undefined, /reserved/],
    [{}, { n: 1 as unknown as string }, /metadata "n".*strings/],
  ];
  for (const [tensors, md, re] of cases) {
    assert.throws(() => encodeSafetensors(tensors, md), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

// ---------- cross-language with tests/py/st.py ----------

Deno.test("a file written by TS is read by the Python reference bit-exactly", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "from_ts.safetensors");
    const tensors: Record<string, RawTensor> = {
      f64: { dtype: "F64", shape: [3], data: bytesOf(new Float64Array([1.5, -2.25, 1e300])) },
      f32: {
        dtype: "F32",
        shape: [2, 2],
        data: bytesOf(new Float32Array([0.5, -1, 3.25, 1024])),
      },
      // 1.0, -2.0, 0.5, 65504 as IEEE half.
      f16: {
        dtype: "F16",
        shape: [4],
        data: bytesOf(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff])),
      },
      bf16: { dtype: "BF16", shape: [2, 2], data: bf16([1, -2.5, 3.0517578125e-5, 2 ** 100]) },
      i64: {
        dtype: "I64",
        shape: [3],
        data: bytesOf(new BigInt64Array([-(2n ** 62n) - 3n, 0n, 9007199254740993n])),
      },
      i32: { dtype: "I32", shape: [2], data: bytesOf(new Int32Array([-2147483648, 77])) },
      i16: { dtype: "I16", shape: [2], data: bytesOf(new Int16Array([-32768, 300])) },
      i8: { dtype: "I8", shape: [3], data: bytesOf(new Int8Array([-128, 0, 127])) },
      u8: { dtype: "U8", shape: [1, 3], data: new Uint8Array([0, 128, 255]) },
      bool: { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
      empty: { dtype: "I64", shape: [0, 4], data: new Uint8Array(0) },
      scalar: { dtype: "F32", shape: [], data: bytesOf(new Float32Array([-0.75])) },
    };
    const metadata = { format: "pt", "ünï": "çødé" };
    await writeSafetensorsFile(path, tensors, metadata);

    type PyT = { dtype: string; shape: number[]; hex: string; values: unknown };
    const py = await pythonJson<{ tensors: Record<string, PyT>; metadata: unknown; same: boolean }>(
      `
import json, sys, torch, st
path = sys.argv[1]
tensors, md = st.load_with_metadata(path)
out = {}
for name, t in tensors.items():
    if t.dtype == torch.int64:
        values = [str(v) for v in t.reshape(-1).tolist()]
    elif t.dtype in (torch.float16, torch.bfloat16):
        values = t.float().reshape(-1).tolist()
    else:
        values = t.reshape(-1).tolist()
    out[name] = {"dtype": st.NAMES[t.dtype], "shape": list(t.shape),
                 "hex": st.tensor_bytes(t).hex(), "values": values}
same = st.dumps(tensors, md) == open(path, "rb").read()
print(json.dumps({"tensors": out, "metadata": md, "same": same}))
`,
      [path],
    );
    assert.deepEqual(py.metadata, metadata);
    assert.deepEqual(Object.keys(py.tensors).sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      assert.equal(py.tensors[name].dtype, t.dtype, name);
      assert.deepEqual(py.tensors[name].shape, t.shape, name);
      assert.equal(py.tensors[name].hex, hex(t.data), name);
    }
    const v = (name: string) => py.tensors[name].values;
    assert.deepEqual(v("f64"), [1.5, -2.25, 1e300]);
    assert.deepEqual(v("f32"), [0.5, -1, 3.25, 1024]);
    assert.deepEqual(v("f16"), [1, -2, 0.5, 65504]);
    assert.deepEqual(v("bf16"), [1, -2.5, 3.0517578125e-5, 2 ** 100]);
    assert.deepEqual(v("i64"), [String(-(2n ** 62n) - 3n), "0", "9007199254740993"]);
    assert.deepEqual(v("i32"), [-2147483648, 77]);
    assert.deepEqual(v("i16"), [-32768, 300]);
    assert.deepEqual(v("i8"), [-128, 0, 127]);
    assert.deepEqual(v("u8"), [0, 128, 255]);
    assert.deepEqual(v("bool"), [true, false, true]);
    assert.deepEqual(v("empty"), []);
    assert.deepEqual(v("scalar"), [-0.75]);
    assert.ok(py.same, "the Python writer should reproduce the TS file byte for byte");
  });
});

Deno.test("a file written by the Python reference is decoded by TS bit-exactly", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "from_py.safetensors");
    type PyT = { dtype: string; shape: number[]; hex: string; floats: number[] | null };
    const py = await pythonJson<{ tensors: Record<string, PyT>; metadata: Record<string, string> }>(
      `
import json, math, sys, torch, st
torch.manual_seed(0)
t = {
    "conv.weight": torch.randn(4, 3, 2, 2),
    "fc.weight": torch.randn(3, 5).t(),  # non-contiguous on purpose
    "f64": torch.randn(7, dtype=torch.float64),
    "half": torch.tensor([1.0, -2.0, 0.1, 65504.0, 6e-8, float("inf")], dtype=torch.float16),
    "bf": torch.tensor([1.0, -2.5, 0.1, 3e38, 1e-30, float("-inf")], dtype=torch.bfloat16),
    "bf_rand": torch.randn(3, 3).to(torch.bfloat16),
    "steps": torch.tensor(123456789012, dtype=torch.int64),
    "i64": torch.tensor([-(2**63), 2**63 - 1, -1]),
    "i32": torch.tensor([-5, 2**31 - 1], dtype=torch.int32),
    "i16": torch.tensor([[-7], [8]], dtype=torch.int16),
    "i8": torch.tensor([-128, 127], dtype=torch.int8),
    "u8": torch.arange(250, 256, dtype=torch.uint8),
    "mask": torch.tensor([[True, False], [False, True]]),
    "none": torch.zeros(2, 0, dtype=torch.float32),
    "bn.num_batches_tracked": torch.tensor(0),
}
md = {"format": "pt", "ünï": "çødé"}
st.save(t, sys.argv[1], md)
out = {}
for name, x in t.items():
    floats = None
    if x.is_floating_point():
        f = x.float().reshape(-1).tolist()
        floats = [v if math.isfinite(v) else str(v) for v in f]
    out[name] = {"dtype": st.NAMES[x.dtype], "shape": list(x.shape),
                 "hex": st.tensor_bytes(x).hex(), "floats": floats}
print(json.dumps({"tensors": out, "metadata": md}))
`,
      [path],
    );
    const file = await Deno.readFile(path);
    const out = await readSafetensorsFile(path);
    assert.deepEqual(out.metadata, py.metadata);
    assert.deepEqual(Object.keys(out.tensors).sort(), Object.keys(py.tensors).sort());
    for (const [name, want] of Object.entries(py.tensors)) {
      const got = out.tensors[name];
      assert.equal(got.dtype, want.dtype, name);
      assert.deepEqual(got.shape, want.shape, name);
      assert.equal(hex(got.data), want.hex, name);
    }
    // Interpret the bytes too, so byte order and the bf16 layout are checked, not just copied.
    const asF = (s: number | string) =>
      typeof s === "number" ? s : s === "inf" ? Infinity : -Infinity;
    assert.deepEqual(bf16ToNumbers(out.tensors.bf.data), py.tensors.bf.floats!.map(asF));
    assert.deepEqual(bf16ToNumbers(out.tensors.bf_rand.data), py.tensors.bf_rand.floats);
    assert.deepEqual(
      Array.from(new Float32Array(out.tensors["conv.weight"].data.slice().buffer)),
      py.tensors["conv.weight"].floats,
    );
    assert.deepEqual(
      Array.from(new BigInt64Array(out.tensors.i64.data.slice().buffer)),
      [-(2n ** 63n), 2n ** 63n - 1n, -1n],
    );
    assert.equal(new BigInt64Array(out.tensors.steps.data.slice().buffer)[0], 123456789012n);
    // Both writers produce the same bytes for the same content.
    assert.equal(hex(encodeSafetensors(out.tensors, out.metadata!)), hex(file));
  });
});

// ---------- malformed input ----------

const F32x1 = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';

Deno.test("decode rejects malformed files with specific SafetensorsErrors", async (t) => {
  await t.step("shorter than 8 bytes", () => {
    rejects(new Uint8Array(0), /only 0 bytes, shorter than the 8-byte header length.*re-export/);
    rejects(new Uint8Array(5), /only 5 bytes/);
  });
  await t.step("header length past the end", () => {
    rejects(rawFile("{}", new Uint8Array(4), 1000n), /header length 1000 runs past the end.*14/);
    const ok = encodeSafetensors({ a: { dtype: "U8", shape: [4], data: new Uint8Array(4) } });
    rejects(ok.subarray(0, 20), /past the end/);
  });
  await t.step("header too large", () => {
    rejects(rawFile("{}", undefined, 100_000_001n), /100000001 is larger than the limit/);
    rejects(rawFile("{}", undefined, 2n ** 64n - 1n), /18446744073709551615 is larger/);
  });
  await t.step("header not UTF-8", () => {
    const f = rawFile("{}      ");
    f[9] = 0xff;
    rejects(f, /not valid UTF-8/);
  });
  await t.step("bad JSON", () => {
    rejects(rawFile('{"a":'), /not valid JSON/);
    rejects(rawFile(""), /not valid JSON/);
    rejects(rawFile("{'a': 1}"), /not valid JSON/);
  });
  await t.step("JSON that is not an object", () => {
    rejects(rawFile("[1,2]   "), /not a JSON object \(found array\)/);
    rejects(rawFile("null    "), /not a JSON object/);
    rejects(rawFile('"{}"    '), /not a JSON object \(found string\)/);
    rejects(rawFile("42"), /not a JSON object \(found number\)/);
  });
  await t.step("header not starting with {", () => {
    rejects(rawFile(" {}"), /does not start with '\{'/);
  });
  await t.step("entry not an object or missing fields", () => {
    rejects(rawFile('{"a":3}'), /tensor "a" is not an object/);
    rejects(rawFile('{"a":{"shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /no "dtype"/);
    rejects(rawFile('{"a":{"dtype":"F32","data_offsets":[0,4]}}', new Uint8Array(4)), /no "shape"/);
    rejects(rawFile('{"a":{"dtype":"F32","shape":[1]}}', new Uint8Array(4)), /no "data_offsets"/);
    rejects(rawFile('{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}'), /non-string dtype 7/);
  });
  await t.step("unknown dtype", () => {
    rejects(
      rawFile('{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', new Uint8Array(16)),
      /tensor "w" has unknown dtype "F128".*supported: .*BF16/,
    );
    rejects(
      rawFile('{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}'),
      /unknown dtype "f32"/,
    );
  });
  await t.step("bad shape", () => {
    for (const shape of ["[-1]", "[1.5]", '"3"', "[null]", '["2"]', "[1e300]"]) {
      rejects(
        rawFile(`{"a":{"dtype":"U8","shape":${shape},"data_offsets":[0,0]}}`),
        /dims must be non-negative integers|not an array/,
      );
    }
  });
  await t.step("bad data_offsets", () => {
    for (const offs of ["[4,0]", "[0]", "[0,1,2]", '["0",4]', "[-4,0]", "[0.5,4]", "{}"]) {
      rejects(
        rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":${offs}}}`, new Uint8Array(4)),
        /data_offsets .*expected \[begin, end\]/,
      );
    }
  });
  await t.step("byte length does not match dtype x shape", () => {
    rejects(
      rawFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /tensor "a" spans 8 bytes but F32 x \[3\] needs 12 bytes/,
    );
    rejects(
      rawFile('{"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,4]}}', new Uint8Array(4)),
      /spans 4 bytes but BF16 x \[2,2\] needs 8/,
    );
    // A byte count beyond 2^53 is reported exactly, not float-rounded.
    rejects(
      rawFile('{"a":{"dtype":"U8","shape":[4294967297,2097153],"data_offsets":[0,8]}}'),
      /needs 9007203551805441 bytes/,
    );
  });
  await t.step("offsets out of range", () => {
    rejects(
      rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', new Uint8Array(4)),
      /tensor "a" has data_offsets \[0, 8\] beyond the 4-byte data buffer/,
    );
  });
  await t.step("overlapping tensors", () => {
    rejects(
      rawFile(
        `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
          `"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`,
        new Uint8Array(12),
      ),
      /tensor "b" \(bytes 4\.\.12\) overlaps tensor "a"/,
    );
    // Same range twice.
    rejects(
      rawFile(`{"a":${F32x1},"b":${F32x1}}`, new Uint8Array(4)),
      /overlaps/,
    );
  });
  await t.step("hole between tensors, before the first, and after the last", () => {
    rejects(
      rawFile(
        `{"a":${F32x1},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`,
        new Uint8Array(12),
      ),
      /hole in the data buffer: bytes 4\.\.8 belong to no tensor \(before tensor "b"\)/,
    );
    rejects(
      rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)),
      /hole in the data buffer: bytes 0\.\.4/,
    );
    rejects(rawFile(`{"a":${F32x1}}`, new Uint8Array(8)), /cover 4 bytes .* has 8; bytes 4\.\.8/);
    rejects(rawFile("{}", new Uint8Array(1)), /cover 0 bytes but the data buffer has 1/);
  });
  await t.step("duplicate keys", () => {
    rejects(rawFile(`{"a":${F32x1},"a":${F32x1}}`, new Uint8Array(4)), /duplicated key "a"/);
    // Escaped quotes inside a key must not end the key early.
    rejects(
      rawFile(`{"x\\"y":${F32x1},"x\\"y":${F32x1}}`, new Uint8Array(4)),
      /duplicated key "x"y"/,
    );
    // An escaped spelling of the same key is the same key.
    rejects(rawFile(`{"a":${F32x1},"\\u0061":${F32x1}}`, new Uint8Array(4)), /duplicated key "a"/);
    rejects(
      rawFile(
        '{"a":{"dtype":"I32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        new Uint8Array(4),
      ),
      /duplicated key "dtype" in entry "a"/,
    );
    rejects(
      rawFile('{"__metadata__":{"k":"1","k":"2"}}'),
      /duplicated key "k" in entry "__metadata__"/,
    );
    rejects(
      rawFile('{"__metadata__":{},"__metadata__":{}}'),
      /duplicated key "__metadata__"/,
    );
  });
  await t.step(
    "no false duplicate for repeated keys in different objects or inside strings",
    () => {
      const out = decodeSafetensors(
        rawFile(
          `{"__metadata__":{"a":"{\\"a\\":1,\\"a\\":2}","dtype":"x"},"a":${F32x1},` +
            `"b":{"dtype":"U8","shape":[0],"data_offsets":[4,4],"extra":[{"a":1},{"a":2}]}}  `,
          new Uint8Array(4),
        ),
        SRC,
      );
      assert.deepEqual(Object.keys(out.tensors).sort(), ["a", "b"]);
      assert.deepEqual(out.metadata, { a: '{"a":1,"a":2}', dtype: "x" });
    },
  );
  await t.step("bad __metadata__", () => {
    rejects(rawFile('{"__metadata__":["a"]}'), /"__metadata__" is not an object of strings/);
    rejects(rawFile('{"__metadata__":"x"}'), /"__metadata__" is not an object/);
    rejects(rawFile('{"__metadata__":null}'), /"__metadata__" is not an object/);
    rejects(
      rawFile('{"__metadata__":{"epoch":3}}'),
      /"__metadata__" value of "epoch" is 3, not a string/,
    );
  });
});

Deno.test("random corruption never escapes as anything but a SafetensorsError", () => {
  const good = encodeSafetensors(
    {
      a: { dtype: "F32", shape: [2, 3], data: randomBytes(24, 1) },
      b: { dtype: "BF16", shape: [5], data: randomBytes(10, 2) },
      c: { dtype: "BOOL", shape: [], data: new Uint8Array([1]) },
    },
    { format: "pt" },
  );
  const r = prng(42);
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    let f = good.slice();
    const kind = r() % 3;
    if (kind === 0) f[r() % f.length] = r() & 0xff;
    else if (kind === 1) f = f.slice(0, r() % f.length);
    else f[r() % Math.min(f.length, 16)] = r() & 0xff; // mostly the length field
    try {
      decodeSafetensors(f, SRC);
    } catch (e) {
      failures++;
      assert.ok(e instanceof SafetensorsError, `case ${i}: ${(e as Error)?.stack}`);
      assert.ok(e.message.startsWith(`${SRC}: `));
    }
  }
  assert.ok(failures > 1000, `only ${failures} corruptions were detected`);
});

// ---------- files ----------

Deno.test("reading a missing file names the path", async () => {
  const path = "/nonexistent-dir-st-test/model.safetensors";
  await assert.rejects(readSafetensorsFile(path), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, String(e));
    assert.equal(e.source, path);
    assert.match(e.message, /^\/nonexistent-dir-st-test\/model\.safetensors: file not found/);
    return true;
  });
});

Deno.test("reading a corrupt file reports the file path", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "bad.safetensors");
    await Deno.writeFile(path, new Uint8Array(3));
    await assert.rejects(readSafetensorsFile(path), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.ok(e.message.startsWith(`${path}: only 3 bytes`), e.message);
      return true;
    });
  });
});

Deno.test("atomic write: replaces the file and leaves no temp files", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "model.safetensors");
    const old = { a: { dtype: "U8" as const, shape: [3], data: new Uint8Array([1, 2, 3]) } };
    const neu = { b: { dtype: "F32" as const, shape: [1], data: bytesOf(new Float32Array([7])) } };
    await writeSafetensorsFile(path, old);
    await writeSafetensorsFile(path, neu, { v: "2" });
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    const back = await readSafetensorsFile(path);
    assert.deepEqual(Object.keys(back.tensors), ["b"]);
    assert.deepEqual(back.metadata, { v: "2" });
    assert.equal(hex(await Deno.readFile(path)), hex(encodeSafetensors(neu, { v: "2" })));
  });
});

Deno.test("atomic write: concurrent readers see the old or the new file, never a mix", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "model.safetensors");
    const make = (fill: number): Record<string, RawTensor> => ({
      w: { dtype: "U8", shape: [8 << 20], data: new Uint8Array(8 << 20).fill(fill) },
    });
    const oldBytes = encodeSafetensors(make(1));
    const newBytes = encodeSafetensors(make(2));
    await Deno.writeFile(path, oldBytes);
    // A reader that opened the file before the write: with a rename the old inode
    // stays intact for it; an in-place rewrite would truncate it under the reader.
    using early = await Deno.open(path, { read: true });
    const inoBefore = (await Deno.stat(path)).ino;
    let done = false;
    const writing = writeSafetensorsFile(path, make(2)).finally(() => done = true);
    const seenNames = new Set<string>();
    let reads = 0;
    while (!done) {
      for (const name of await listDir(dir)) seenNames.add(name);
      const got = await Deno.readFile(path);
      reads++;
      assert.ok(
        sameBytes(got, oldBytes) || sameBytes(got, newBytes),
        `read ${reads} saw a partial or mixed file (${got.length} bytes)`,
      );
    }
    await writing;
    assert.ok(sameBytes(await Deno.readFile(path), newBytes), "the new file is complete");
    assert.notEqual((await Deno.stat(path)).ino, inoBefore, "the file was replaced, not rewritten");
    const earlyBytes = new Uint8Array(oldBytes.length + 1);
    let got = 0;
    for (let n; (n = await early.read(earlyBytes.subarray(got))) !== null && n > 0;) got += n;
    assert.ok(
      sameBytes(earlyBytes.subarray(0, got), oldBytes),
      "an earlier reader keeps the old file",
    );
    assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    // Any temp file seen mid-write lived next to the target, with the documented name.
    for (const name of seenNames) {
      assert.match(name, /^(model\.safetensors|\.model\.safetensors\.tmp-\d+-[0-9a-f]+)$/);
    }
  });
});

Deno.test("atomic write: failures throw a clear error and leave no temp file", async (t) => {
  const tensors = { a: { dtype: "U8" as const, shape: [2], data: new Uint8Array([1, 2]) } };
  await t.step("into a missing directory", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "missing", "model.safetensors");
      await assert.rejects(writeSafetensorsFile(path, tensors), (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, String(e));
        assert.ok(e.message.startsWith(`${path}: cannot write`), e.message);
        assert.match(e.message, /directory exists and is writable/);
        return true;
      });
      assert.deepEqual(await listDir(dir), []);
    });
  });
  await t.step("when the rename fails after the temp file was written", async () => {
    await withTempDir(async (dir) => {
      // A directory in the way makes the final rename fail.
      const path = join(dir, "model.safetensors");
      await Deno.mkdir(path);
      await Deno.writeTextFile(join(path, "keep"), "x");
      await assert.rejects(writeSafetensorsFile(path, tensors), (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, String(e));
        assert.ok(e.message.startsWith(`${path}: cannot write`), e.message);
        return true;
      });
      assert.deepEqual(await listDir(dir), ["model.safetensors"]);
      assert.deepEqual(await listDir(path), ["keep"]);
    });
  });
  await t.step("invalid tensors write nothing and keep the old file", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "model.safetensors");
      await writeSafetensorsFile(path, tensors);
      const before = hex(await Deno.readFile(path));
      const bad = { a: { dtype: "F32" as const, shape: [2], data: new Uint8Array(3) } };
      await assert.rejects(writeSafetensorsFile(path, bad), SafetensorsError);
      assert.equal(hex(await Deno.readFile(path)), before);
      assert.deepEqual(await listDir(dir), ["model.safetensors"]);
    });
  });
});
