// deno task offline: fills Deno's cache (DENO_DIR) with everything `deno task train`,
// `deno task test` and a script outside the repo importing mod.ts need, so they run with
// no network; the DENO_DIR can then be copied to a machine that has none.
//   deno task offline [--no-verify] [--debug]
//
// Two fills, because Deno resolves npm packages two ways:
//   1. inside the repo, from deno.lock: `deno cache` of the repo's modules. It needs only the
//      packages' tarballs, and writes each package's registry metadata
//      (DENO_DIR/npm/<registry>/<pkg>/registry.json) only as a side effect that cannot be
//      relied on: Deno 2.9.6 fetches it after the tarballs, best effort, and writes none when
//      the tarballs were already cached (by `deno task`, `deno install` or an earlier run).
//   2. outside the repo, with no lockfile (a script importing /path/to/byol-deno/mod.ts): Deno
//      resolves each npm: specifier from that registry metadata, and with no network fails with
//      `Failed loading <registry>/csv-parse`, --cached-only or not. So the same
//      resolution is run here once, from a temporary folder with no config and no lockfile, for
//      mod.ts and every module of deps/ (each npm package the library pins).
// Imports nothing from npm, so it runs on an empty cache.

import { fileURLToPath } from "node:url";
import { fail } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url);
const ROOT_DIR = fileURLToPath(ROOT);

/** What the repo's own tasks load: cached with the repo's deno.json and deno.lock. */
const INSIDE_ENTRIES = ["mod.ts", "deps/", "ffi/", "src/", "scripts/", "tests/", "bench/"];

/** The npm registry Deno uses (NPM_CONFIG_REGISTRY, else npm's), with a trailing slash. */
export function npmRegistryUrl(): string {
  const r = Deno.env.get("NPM_CONFIG_REGISTRY") || "https://registry.npmjs.org/";
  return r.endsWith("/") ? r : `${r}/`;
}

export type Probe = { ok: true } | { ok: false; reason: string };

/** Whether the npm registry answers within `timeoutMs` (any HTTP answer below 500 counts). */
export async function probeRegistry(timeoutMs = 4000): Promise<Probe> {
  const url = npmRegistryUrl();
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    if (res.status >= 500) return { ok: false, reason: `${url} answered HTTP ${res.status}` };
    return { ok: true };
  } catch (err) {
    const why = err instanceof DOMException && err.name === "TimeoutError"
      ? `no answer in ${timeoutMs / 1000} s`
      : innermost(err);
    return { ok: false, reason: `${url} cannot be reached (${why})` };
  }
}

/** The innermost cause's message, last part: "Connection refused (os error 111)". */
function innermost(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause !== undefined) e = e.cause;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split(": ").at(-1)!;
}

/**
 * Environment that cuts a child deno off the network: every proxy variable points at a local
 * port nothing listens on, so any download fails at once with "Connection refused" while the
 * cache paths (keyed by the registry's host) stay the same. Needs --allow-net for the port.
 */
export function networkCutEnv(): Record<string, string> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const p = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = { NO_PROXY: "", no_proxy: "" };
  for (const k of ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"]) env[k] = env[k.toLowerCase()] = p;
  return env;
}

export interface DenoRun {
  code: number;
  out: string;
}

/** Runs this deno with `args` in `cwd`, extra `env` on top of ours, no colours. */
export async function runDeno(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<DenoRun> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/**
 * The first `error:` line of a deno run and the last part of the cause under it, on one line:
 * `Failed loading <registry>/csv-parse for package "csv-parse" (Connection
 * refused (os error 111))`.
 */
export function denoError(out: string): string {
  const lines = out.split("\n").map((l) => l.trim());
  const i = lines.findIndex((l) => l.startsWith("error:"));
  if (i < 0) return lines.filter((l) => l && !l.startsWith("Download ")).at(-1) ?? "no output";
  const first = lines[i].slice("error:".length).trim();
  const cause = lines.slice(i + 1, i + 4).find((l) => l.startsWith("0: "))?.split(": ").at(-1);
  return cause ? `${first} (${cause})` : first;
}

/** The repo's entries for the inside fill, as paths relative to the repo root. */
function insideEntries(root: URL): string[] {
  return INSIDE_ENTRIES.filter((e) => {
    try {
      Deno.statSync(new URL(e, root));
      return true;
    } catch {
      return false;
    }
  });
}

/** mod.ts and every module of deps/, as file URLs: what a script outside the repo may load. */
export function outsideEntries(root: URL = ROOT): string[] {
  const deps = [...Deno.readDirSync(new URL("deps/", root))]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => new URL(`deps/${e.name}`, root).href)
    .sort();
  return [new URL("mod.ts", root).href, ...deps];
}

export type FillKind = "inside" | "outside";

/**
 * One fill: `deno cache` of the repo's modules from its root ("inside", with deno.lock), or of
 * `outsideEntries` from a temporary folder with no config and no lockfile ("outside"), the way
 * a script outside the repo resolves them. `env` goes to the child (DENO_DIR, a network cut).
 */
export async function cacheFill(
  kind: FillKind,
  env: Record<string, string> = {},
  root: URL = ROOT,
  entries: string[] = outsideEntries(root),
): Promise<DenoRun & { command: string }> {
  if (kind === "inside") {
    const args = ["cache", ...insideEntries(root)];
    const r = await runDeno(args, fileURLToPath(root), env);
    return { ...r, command: `deno ${args.join(" ")} (in ${fileURLToPath(root)})` };
  }
  const dir = await Deno.makeTempDir({ prefix: "byol-offline-" });
  try {
    const args = ["cache", "--no-config", "--no-lock", ...entries];
    const r = await runDeno(args, dir, env);
    const names = entries.map((e) => e.startsWith(root.href) ? e.slice(root.href.length) : e);
    return {
      ...r,
      command: `deno cache --no-config --no-lock ${names.join(" ")} (outside the repo)`,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Whether the cache alone serves a fill of `kind` (run with the network cut off); `entries`
 * narrows the outside one (say, to mod.ts).
 */
export async function servedFromCache(
  kind: FillKind,
  env: Record<string, string> = {},
  entries?: string[],
): Promise<Probe> {
  const r = await cacheFill(kind, { ...env, ...networkCutEnv() }, ROOT, entries);
  return r.code === 0 ? { ok: true } : { ok: false, reason: denoError(r.out) };
}

export interface NpmPackageState {
  /** Versions with an unpacked tarball. */
  versions: string[];
  /** Whether registry.json (the package's registry metadata) is cached. */
  metadata: boolean;
}

/** The npm packages in a Deno npm cache folder (DENO_DIR/npm), keyed `<registry>/<name>`. */
export function npmCacheState(npmCache: string): Map<string, NpmPackageState> {
  const out = new Map<string, NpmPackageState>();
  const dirs = (p: string) => {
    try {
      return [...Deno.readDirSync(p)].filter((e) => e.isDirectory).map((e) => e.name).sort();
    } catch {
      return [];
    }
  };
  for (const registry of dirs(npmCache)) {
    const names: string[] = [];
    for (const n of dirs(`${npmCache}/${registry}`)) {
      if (n.startsWith("@")) {
        names.push(...dirs(`${npmCache}/${registry}/${n}`).map((s) => `${n}/${s}`));
      } else names.push(n);
    }
    for (const name of names) {
      const p = `${npmCache}/${registry}/${name}`;
      let metadata = false;
      try {
        metadata = Deno.statSync(`${p}/registry.json`).isFile;
      } catch {
        // not cached
      }
      out.set(`${registry}/${name}`, { versions: dirs(p), metadata });
    }
  }
  return out;
}

/** Where the child deno's DENO_DIR and npm cache are, as `deno info --json` says. */
async function denoDirs(env: Record<string, string>): Promise<{ denoDir: string; npm: string }> {
  const r = await runDeno(["info", "--json"], ROOT_DIR, env);
  if (r.code !== 0) throw new Error(`deno info --json failed: ${denoError(r.out)}`);
  const info = JSON.parse(r.out.slice(r.out.indexOf("{"))) as { denoDir: string; npmCache: string };
  return { denoDir: info.denoDir, npm: info.npmCache };
}

export interface OfflineOptions {
  /** Fill this DENO_DIR instead of the current one (DENO_DIR, else Deno's default). */
  denoDir?: string;
  /** Afterwards, check with the network cut off that the cache serves both (default true). */
  verify?: boolean;
  /** Where the report's lines go (default console.log). */
  log?: (line: string) => void;
}

export interface OfflineResult {
  denoDir: string;
  before: Map<string, NpmPackageState>;
  after: Map<string, NpmPackageState>;
  verified: boolean;
}

/** Both fills into the current (or the given) DENO_DIR, then an offline check; says what it did. */
export async function fillOfflineCache(opts: OfflineOptions = {}): Promise<OfflineResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const env: Record<string, string> = opts.denoDir ? { DENO_DIR: opts.denoDir } : {};
  const dirs = await denoDirs(env);
  const before = npmCacheState(dirs.npm);
  log(`filling Deno's cache ${dirs.denoDir} for use with no network`);
  for (const kind of ["inside", "outside"] as const) {
    const r = await cacheFill(kind, env);
    if (r.code !== 0) {
      throw new Error(
        `${r.command} failed: ${denoError(r.out)}; the fill needs the npm registry ` +
          `${npmRegistryUrl()} (check the network, HTTPS_PROXY or NPM_CONFIG_REGISTRY)`,
      );
    }
  }
  const after = npmCacheState(dirs.npm);
  const count = (m: Map<string, NpmPackageState>) => ({
    tarballs: [...m.values()].filter((s) => s.versions.length > 0).length,
    metadata: [...m.values()].filter((s) => s.metadata).length,
  });
  const [b, a] = [count(before), count(after)];
  log(`  inside the repo (deno.lock; train, test, bench): ${a.tarballs} npm packages unpacked`);
  log(
    `  outside the repo (no lockfile; scripts importing mod.ts): registry metadata for ` +
      `${a.metadata} packages (had ${b.metadata})`,
  );
  let verified = false;
  if (opts.verify ?? true) {
    for (const kind of ["inside", "outside"] as const) {
      const p = await servedFromCache(kind, env);
      if (!p.ok) {
        throw new Error(
          `the filled cache does not serve the ${kind} fill with the network cut off: ` +
            `${p.reason} (a Deno other than 2.9.6 may cache npm packages differently)`,
        );
      }
    }
    verified = true;
    log(`  checked with the network cut off: the cache serves both`);
  }
  const mod = fileURLToPath(new URL("mod.ts", ROOT));
  log(`deno task train, deno task test and scripts importing ${mod} now run with no network;`);
  log(`for a machine without one, copy ${dirs.denoDir} there and set DENO_DIR to the copy`);
  return { denoDir: dirs.denoDir, before, after, verified };
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(
      "usage: deno task offline [--no-verify] [--debug]\n" +
        "caches everything train, test and a script outside the repo importing mod.ts need, so " +
        "they run with no network (into DENO_DIR, else Deno's default cache)",
    );
  } else {
    const unknown = args.filter((a) => !["--no-verify", "--debug"].includes(a));
    try {
      if (unknown.length > 0) throw new Error(`unknown option ${unknown[0]} (see --help)`);
      await fillOfflineCache({ verify: !args.includes("--no-verify") });
    } catch (e) {
      fail(e, args.includes("--debug"));
    }
  }
}
