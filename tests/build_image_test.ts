// The optional image decoder's build (scripts/build_native.ts buildImageDecoder):
// without libjpeg's or libpng's headers it is left out with the reason and the
// packages (never a failed build), BYOL_NO_IMAGE_DECODER=1 leaves it out and
// removes an older library, and an up-to-date library is not rebuilt.
import { join } from "node:path";
import { assert, assertEquals } from "./helpers/asserts.ts";
import { buildImageDecoder, IMAGE_LIB } from "../scripts/build_native.ts";

const quiet = () => {};

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  }
}

async function haveHeaders(): Promise<boolean> {
  const dir = await Deno.makeTempDir();
  try {
    const f = join(dir, "probe.c");
    await Deno.writeTextFile(f, "#include <stdio.h>\n#include <jpeglib.h>\n#include <png.h>\n");
    const r = await new Deno.Command(Deno.env.get("CC") ?? "gcc", {
      args: ["-E", f],
      stdout: "null",
      stderr: "null",
    }).output();
    return r.success;
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
const HEADERS = await haveHeaders();

Deno.test("image decoder build: a compiler without jpeglib.h leaves it out, naming the packages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-image-build-" });
  try {
    // A "compiler" that finds no libjpeg header (and otherwise is gcc).
    const cc = join(dir, "cc");
    await Deno.writeTextFile(
      cc,
      '#!/bin/sh\nfor a in "$@"; do if [ -f "$a" ] && grep -q jpeglib.h "$a"; then\n' +
        'echo "$a: fatal error: jpeglib.h: No such file or directory" >&2; exit 1; fi; done\n' +
        'exec gcc "$@"\n',
    );
    await Deno.chmod(cc, 0o755);
    await Deno.writeTextFile(join(dir, IMAGE_LIB), "stale");
    const info = await withEnv(
      { CC: cc },
      () => buildImageDecoder(`${dir}/`, { log: quiet }),
    );
    assertEquals(info.built, false);
    const reason = (info as { reason: string }).reason;
    assert(/jpeglib\.h \(libjpeg62-turbo-dev\) not found/.test(reason), reason);
    assert(/sudo apt-get install libjpeg62-turbo-dev libpng-dev/.test(reason), reason);
    // No library is left to be loaded instead of imagescript.
    let left = true;
    try {
      await Deno.stat(join(dir, IMAGE_LIB));
    } catch {
      left = false;
    }
    assertEquals(left, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "image decoder build: built once, skipped while unchanged, removed by BYOL_NO_IMAGE_DECODER=1" +
    (HEADERS ? "" : " (ignored: no jpeglib.h / png.h)"),
  ignore: !HEADERS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "byol-image-build-" });
    try {
      const lines: string[] = [];
      const log = (l: string) => lines.push(l);
      const a = await buildImageDecoder(`${dir}/`, { log });
      assert(a.built, JSON.stringify(a));
      assert(a.built && /^libjpeg/.test(a.libjpeg) && /^\d+\.\d+\.\d+/.test(a.libpng));
      const lib = join(dir, IMAGE_LIB);
      const m1 = (await Deno.stat(lib)).mtime?.getTime();
      assertEquals(lines.filter((l) => /built/.test(l)).length, 1);
      const b = await buildImageDecoder(`${dir}/`, { log });
      assertEquals(b, a);
      assertEquals((await Deno.stat(lib)).mtime?.getTime(), m1);
      assertEquals(lines.filter((l) => /built/.test(l)).length, 1, "rebuilt while up to date");
      const c = await withEnv(
        { BYOL_NO_IMAGE_DECODER: "1" },
        () => buildImageDecoder(`${dir}/`, { log }),
      );
      assertEquals(c, { built: false, reason: "left out (BYOL_NO_IMAGE_DECODER=1)" });
      let left = true;
      try {
        await Deno.stat(lib);
      } catch {
        left = false;
      }
      assertEquals(left, false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
