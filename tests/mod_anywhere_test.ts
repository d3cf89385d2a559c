// mod.ts from any script: a script in a folder outside the repo, with or without
// a deno.json of its own, imports mod.ts by file URL, trains three BYOL steps and
// saves its encoder. And nothing in the repo relies on an import map: npm
// packages are pinned in deps/ only, everything else is relative or node:.
import { loadStateDictFile } from "../mod.ts";
import { assert, assertEquals } from "./helpers/asserts.ts";

const ROOT = new URL("../", import.meta.url);
const MOD_URL = new URL("mod.ts", ROOT).href;

/** Every import/export specifier of a TypeScript source (static, dynamic and type-only). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

async function* tsFiles(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".") || e.name === "build" || e.name === "node_modules") continue;
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* tsFiles(url);
    else if (e.name.endsWith(".ts")) yield url;
  }
}

Deno.test("modules import npm packages only through deps/, and nothing bare", async () => {
  const bad: string[] = [];
  let deps = 0;
  for await (const file of tsFiles(ROOT)) {
    const rel = file.href.slice(ROOT.href.length);
    const inDeps = rel.startsWith("deps/");
    for (const s of specifiers(await Deno.readTextFile(file))) {
      if (s.startsWith("./") || s.startsWith("../") || s.startsWith("node:")) continue;
      if (inDeps && /^npm:(@[^/@]+\/)?[^/@]+@\d+\.\d+\.\d+(\/|$)/.test(s)) {
        deps++;
        continue;
      }
      bad.push(`${rel}: ${s}`);
    }
  }
  assertEquals(bad, [], "use a relative path, node:, or a module of deps/ with a pinned npm:");
  assert(deps >= 6, `found ${deps} pinned npm: specifiers in deps/`);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assertEquals(config.imports, undefined, "deno.json must not carry an import map");
});

// Three steps of a tiny ConvNet on random 16 px views; prints losses and keys as JSON.
const SCRIPT = `import { BYOL, manualSeed, nn, optim, randn, saveStateDict, tidy } from ${
  JSON.stringify(MOD_URL)
};

manualSeed(0);
const encoder = nn.convNet({ inChannels: 3, width: 4 });
const model = new BYOL(encoder, { hiddenDim: 16, projectionDim: 8 });
const opt = new optim.SGD(model.onlineParameters(), { lr: 0.05, momentum: 0.9 });
const losses: number[] = [];
for (let step = 0; step < 3; step++) {
  losses.push(tidy(() => {
    const l = model.loss(randn([8, 3, 16, 16]), randn([8, 3, 16, 16]));
    opt.zeroGrad();
    l.backward();
    opt.step();
    model.updateTarget(step, 3);
    return l.item();
  }));
}
await saveStateDict("encoder.safetensors", encoder);
const keys: string[] = Object.keys(encoder.stateDict()).sort();
console.log(JSON.stringify({ losses, keys }));
`;

async function deno(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  // The default DENO_DIR (or the parent's) is inherited, so the child finds the npm
  // packages this test's own module graph already cached; --cached-only proves it.
  const r = await new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

for (const ownConfig of [false, true]) {
  const name = ownConfig ? "with a deno.json of its own" : "with no deno.json";
  Deno.test(`mod.ts works from a script in another folder, ${name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "byol-mod-anywhere-" });
    try {
      if (ownConfig) {
        await Deno.writeTextFile(
          `${dir}/deno.json`,
          JSON.stringify({ compilerOptions: { strict: true } }),
        );
      }
      await Deno.writeTextFile(`${dir}/my_script.ts`, SCRIPT);
      const check = await deno(dir, "check", "--cached-only", "my_script.ts");
      assertEquals(check.code, 0, check.out);
      const run = await deno(dir, "run", "-A", "--cached-only", "my_script.ts");
      assertEquals(run.code, 0, run.out);
      const { losses, keys } = JSON.parse(run.out.trim().split("\n").at(-1)!) as {
        losses: number[];
        keys: string[];
      };
      assertEquals(losses.length, 3);
      for (const l of losses) assert(Number.isFinite(l) && l >= 0 && l <= 4, `loss ${l}`);
      assert(keys.length > 0);
      const saved = await loadStateDictFile(`${dir}/encoder.safetensors`);
      try {
        assertEquals(Object.keys(saved).sort(), keys);
      } finally {
        for (const t of Object.values(saved)) t.dispose();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
