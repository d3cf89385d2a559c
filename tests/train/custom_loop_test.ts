// scripts/custom_loop.ts, the notebook's exercise written against mod.ts only, runs.
import { assert, assertEquals } from "../helpers/asserts.ts";

Deno.test("the custom training loop runs a few steps and reports a kNN accuracy", async () => {
  const script = new URL("../../scripts/custom_loop.ts", import.meta.url).pathname;
  const text = await Deno.readTextFile(script);
  const imports = [...text.matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
  assertEquals(imports, ["../mod.ts"], "the example must use the public API only");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "6"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(/step 5 loss \d+\.\d+/.test(stdout), stdout);
  const acc = Number(/kNN-20 top-1 on 1000 test images: ([\d.]+)%/.exec(stdout)?.[1]);
  assert(acc > 20 && acc <= 100, `kNN accuracy ${acc} (chance is 10%)`);
});
