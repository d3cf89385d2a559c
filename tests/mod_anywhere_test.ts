// mod.ts from any script: a script in a folder outside the repo, with or without
// a deno.json of its own, imports mod.ts by file URL, trains three BYOL steps and
// saves its encoder. And nothing in the repo relies on an import map: npm
// packages are pinned in deps/ only, everything else is relative or node:.
// When the npm packages such a script needs can be had neither from Deno's cache nor from the
// registry (a machine with no network whose DENO_DIR lacks them), those tests are skipped with
// the reason. The last test fills a fresh DENO_DIR with `deno task offline` (scripts/offline.ts)
// and runs the script there with the network cut off.
import { fileURLToPath } from "node:url";
import { loadStateDictFile } from "../mod.ts";
import {
  fillOfflineCache,
  networkCutEnv,
  npmCacheState,
  type Probe,
  probeRegistry,
  servedFromCache,
} from "../scripts/offline.ts";
import { assert, assertEquals } from "./helpers/asserts.ts";

const ROOT = new URL("../", import.meta.url);
const MOD_URL = new URL("mod.ts", ROOT).href;

// Decided up front: the registry (a few seconds at most), else the cache with the network cut.
const registry = await probeRegistry(4000);
const outside: Probe = registry.ok ? registry : await servedFromCache("outside", {}, [MOD_URL]);
const noRegistry = registry.ok ? "" : registry.reason;
const SKIP_OUTSIDE = outside.ok ? undefined : `Deno's cache cannot serve mod.ts's npm packages ` +
  `to a script outside the repo (${outside.reason}) and ${noRegistry}; run ` +
  `\`deno task offline\` once with network`;
const SKIP_FILL = registry.ok
  ? undefined
  : `the offline fill needs the npm registry: ${noRegistry}`;
if (SKIP_OUTSIDE) console.log(`mod_anywhere: skipping the outside-script tests: ${SKIP_OUTSIDE}`);
if (SKIP_FILL) console.log(`mod_anywhere: skipping the offline fill test: ${SKIP_FILL}`);

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

async function deno(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  // The default DENO_DIR (or the parent's) is inherited unless `env` names one. --cached-only
  // keeps module downloads out, but Deno 2.9.6 still fetches a package's registry metadata
  // when it is not cached, so only a cut network (networkCutEnv) proves the cache suffices.
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { DENO_NO_UPDATE_CHECK: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** Writes SCRIPT into `dir`, type-checks and runs it there; checks its losses and its file. */
async function runOutsideScript(
  dir: string,
  env: Record<string, string> = {},
  typeCheck = true,
): Promise<void> {
  await Deno.writeTextFile(`${dir}/my_script.ts`, SCRIPT);
  if (typeCheck) {
    const check = await deno(dir, ["check", "--cached-only", "my_script.ts"], env);
    assertEquals(check.code, 0, check.out);
  }
  const run = await deno(dir, ["run", "-A", "--cached-only", "my_script.ts"], env);
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
}

for (const ownConfig of [false, true]) {
  const name = ownConfig ? "with a deno.json of its own" : "with no deno.json";
  Deno.test({
    name: `mod.ts works from a script in another folder, ${name}`,
    ignore: SKIP_OUTSIDE !== undefined,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "byol-mod-anywhere-" });
      try {
        if (ownConfig) {
          await Deno.writeTextFile(
            `${dir}/deno.json`,
            JSON.stringify({ compilerOptions: { strict: true } }),
          );
        }
        await runOutsideScript(dir);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "deno task offline: a fresh DENO_DIR it fills serves a script in another folder, " +
    "network cut off",
  ignore: SKIP_FILL !== undefined,
  async fn() {
    const denoDir = await Deno.makeTempDir({ prefix: "byol-offline-deno-dir-" });
    const dir = await Deno.makeTempDir({ prefix: "byol-mod-offline-" });
    try {
      // The state issue 22's DENO_DIR was in: what `deno task` or `deno install` leaves in the
      // repo, every package of deno.lock unpacked and (Deno 2.9.6) no registry metadata. A
      // later `deno check` inside the repo does not add it; a script outside the repo needs it.
      const install = await deno(fileURLToPath(ROOT), ["install"], { DENO_DIR: denoDir });
      assertEquals(install.code, 0, install.out);
      const installed = npmCacheState(`${denoDir}/npm`);
      assert(installed.size >= 2, `deno install unpacked ${[...installed.keys()]}`);
      const lines: string[] = [];
      const fill = await fillOfflineCache({ denoDir, log: (l) => lines.push(l) });
      assert(fill.verified, lines.join("\n"));
      for (const pkg of ["csv-parse", "imagescript"]) {
        const state = [...fill.after].find(([k]) => k.endsWith(`/${pkg}`))?.[1];
        assert(state?.metadata && state.versions.length > 0, `${pkg}: ${JSON.stringify(state)}`);
      }
      await runOutsideScript(dir, { DENO_DIR: denoDir, ...networkCutEnv() });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(denoDir, { recursive: true });
    }
  },
});
