// Every function of native/tt.h is bound in ffi/symbols.ts, and nothing else is;
// every enum of tt.h is mirrored name for name and value for value in
// TypeScript (ffi/ops.ts, ffi/dtype.ts), and the shim's switches use the names.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { symbols } from "../../ffi/symbols.ts";
import * as ops from "../../ffi/ops.ts";
import { DType } from "../../ffi/dtype.ts";

const NATIVE = new URL("../../native/", import.meta.url);
const HEADER = Deno.readTextFileSync(new URL("tt.h", NATIVE));

Deno.test("symbols.ts binds exactly the functions tt.h declares", () => {
  const header = Deno.readTextFileSync(new URL("../../native/tt.h", import.meta.url));
  const declared = [...header.matchAll(/^\s*(?:int32_t|const char\*)\s+(tt_\w+)\(/gm)].map((m) =>
    m[1]
  ).sort();
  assertEquals(Object.keys(symbols).sort(), declared);
});

/**
 * Every `enum NAME { ... }` of a C source, as NAME -> [enumerator, value] in
 * order, numbered as C numbers them: each enumerator is the previous one plus
 * one (the first 0) unless it says `= N`.
 */
export function parseEnums(source: string): Map<string, [string, number][]> {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/.*$/gm, " ");
  const out = new Map<string, [string, number][]>();
  for (const m of text.matchAll(/\benum\s+(\w+)\s*\{([^}]*)\}/g)) {
    const items: [string, number][] = [];
    let next = 0;
    for (const item of m[2].split(",").map((x) => x.trim()).filter(Boolean)) {
      const e = item.match(/^(\w+)(?:\s*=\s*(-?\d+))?$/);
      if (e === null) throw new Error(`enum ${m[1]}: cannot read "${item}"`);
      if (e[2] !== undefined) next = Number(e[2]);
      items.push([e[1], next++]);
    }
    out.set(m[1], items);
  }
  return out;
}

/** The tt.h name of a TypeScript key: the enum's prefix, then the key in upper snake case. */
function cName(prefix: string, key: string): string {
  return prefix + key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/** Each enum of tt.h, the TypeScript table that mirrors it and the prefix of its names. */
const MIRRORS: Record<string, { table: Record<string, number>; prefix: string }> = {
  tt_dtype: { table: DType, prefix: "TT_DTYPE_" },
  tt_unary_op: { table: ops.Unary, prefix: "TT_" },
  tt_binary_op: { table: ops.Binary, prefix: "TT_" },
  tt_inplace_op: { table: ops.InPlace, prefix: "TT_" },
  tt_reduce_op: { table: ops.Reduce, prefix: "TT_" },
  tt_like_kind: { table: ops.Like, prefix: "TT_LIKE_" },
  tt_rand_kind: { table: ops.RandKind, prefix: "TT_RAND_" },
  tt_memory_format_kind: { table: ops.MemoryFormat, prefix: "TT_FORMAT_" },
  tt_reduction: { table: ops.Reduction, prefix: "TT_REDUCTION_" },
  tt_sample_mode: { table: ops.SampleMode, prefix: "TT_SAMPLE_" },
  tt_sample_padding: { table: ops.SamplePadding, prefix: "TT_SAMPLE_PAD_" },
  tt_interp_mode: { table: ops.InterpMode, prefix: "TT_INTERP_" },
  tt_pad_mode: { table: ops.PadMode, prefix: "TT_PAD_" },
  tt_device_type: { table: ops.DeviceType, prefix: "TT_DEVICE_" },
  tt_jitter_op: { table: ops.JitterOp, prefix: "TT_JITTER_" },
  tt_matmul_precision: { table: ops.MatmulPrecision, prefix: "TT_MATMUL_" },
  tt_advice: { table: ops.Advice, prefix: "TT_ADVISE_" },
  tt_reduce_kind: { table: ops.ReduceKind, prefix: "TT_RED_" },
};

Deno.test("parseEnums numbers enumerators as C does", () => {
  const src = `enum a { A_X, A_Y = 5, A_Z, /* = 9 */ A_W = -2, A_V };
    enum b {
      B_ONE = 1, // a comment
      B_TWO
    };`;
  assertEquals([...parseEnums(src)], [
    ["a", [["A_X", 0], ["A_Y", 5], ["A_Z", 6], ["A_W", -2], ["A_V", -1]]],
    ["b", [["B_ONE", 1], ["B_TWO", 2]]],
  ]);
  assertThrows(() => parseEnums("enum c { C_X = 1 << 2 };"));
});

Deno.test("every enum of tt.h is mirrored in TypeScript, name for name and value for value", () => {
  const enums = parseEnums(HEADER);
  assertEquals([...enums.keys()].sort(), Object.keys(MIRRORS).sort(), "enums without a mirror");
  for (const [name, { table, prefix }] of Object.entries(MIRRORS)) {
    const byName = (a: [string, number], b: [string, number]) => a[0] < b[0] ? -1 : 1;
    const c = enums.get(name)!.toSorted(byName);
    const ts = Object.entries(table).map(([k, v]): [string, number] => [cName(prefix, k), v])
      .toSorted(byName);
    assertEquals(ts, c, `enum ${name}`);
  }
});

Deno.test("the shim's switches name their cases (no bare numbers)", () => {
  for (const f of Deno.readDirSync(NATIVE)) {
    if (!f.isFile || !/\.(cpp|h)$/.test(f.name)) continue;
    const src = Deno.readTextFileSync(new URL(f.name, NATIVE));
    const bare = [...src.matchAll(/^.*\bcase\s+[-+(]*\d.*$/gm)].map((m) => m[0].trim());
    assert(bare.length === 0, `native/${f.name}: case labels by number: ${bare.join(" | ")}`);
  }
});
