// Every function of native/tt.h is bound in ffi/symbols.ts, and nothing else is.
import { assertEquals } from "../helpers/asserts.ts";
import { symbols } from "../../ffi/symbols.ts";

Deno.test("symbols.ts binds exactly the functions tt.h declares", () => {
  const header = Deno.readTextFileSync(new URL("../../native/tt.h", import.meta.url));
  const declared = [...header.matchAll(/^\s*(?:int32_t|const char\*)\s+(tt_\w+)\(/gm)].map((m) =>
    m[1]
  ).sort();
  assertEquals(Object.keys(symbols).sort(), declared);
});

Deno.test("ffi/ops.ts's op codes equal tt.h's enums, code for code", async () => {
  const ops = await import("../../ffi/ops.ts");
  const header = Deno.readTextFileSync(new URL("../../native/tt.h", import.meta.url));
  const enums: Record<string, keyof typeof ops> = {
    tt_unary_op: "Unary",
    tt_binary_op: "Binary",
    tt_inplace_op: "InPlace",
    tt_reduce_op: "Reduce",
    tt_like_kind: "Like",
    tt_reduce_kind: "ReduceKind",
  };
  for (const [cName, tsName] of Object.entries(enums)) {
    const body = header.match(new RegExp(`enum ${cName} \\{([^}]*)\\}`))![1]
      .replace(/\/\*.*?\*\//g, "");
    // Implicit C numbering: each name is the previous value plus one unless it says "= N".
    let next = 0;
    const codes: number[] = [];
    for (const item of body.split(",").map((x) => x.trim()).filter(Boolean)) {
      const m = item.match(/^\w+(?:\s*=\s*(\d+))?$/)!;
      next = m[1] !== undefined ? Number(m[1]) : next;
      codes.push(next++);
    }
    const ts = Object.values(ops[tsName] as Record<string, number>);
    assertEquals(ts, codes, `${tsName} vs ${cName}`);
  }
});
