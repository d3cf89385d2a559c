// A tensor's native handle and bookkeeping are not public API: mod.ts exports
// no accessor, Tensor has no handle property, and nothing above ffi/ reaches
// for one (src/, scripts/ and bench/ hold no pointers).
import { assert, assertEquals } from "../helpers/asserts.ts";
import * as mod from "../../mod.ts";

Deno.test("mod.ts exports no handle accessor and a Tensor shows no handle or bookkeeping", () => {
  for (const name of ["handleOf", "handleOfOpt", "lifeOf", "assignData", "isTensor", "Life"]) {
    assert(!(name in mod), `mod.ts exports ${name}`);
  }
  const t = mod.ones([2]);
  for (const key of ["handle", "_handle", "_kept", "_registered"]) {
    assert(!(key in t), `Tensor has a "${key}" property`);
  }
  t.dispose();
});

Deno.test("src/, scripts/ and bench/ never use the internal handle accessors", () => {
  const root = new URL("../../", import.meta.url).pathname;
  const bad: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (e.name.endsWith(".ts")) {
        const src = Deno.readTextFileSync(p);
        if (/\b(handleOf|handleOfOpt|lifeOf)\b|\._handle\b|"_handle"/.test(src)) bad.push(p);
      }
    }
  };
  for (const d of ["src", "scripts", "bench"]) walk(root + d);
  assertEquals(bad, []);
});
