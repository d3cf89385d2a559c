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
