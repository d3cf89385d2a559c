// Builds the libtorch shim (native/*.cpp -> build/libtt.so) and writes
// build/build-info.json. Skipped when the sources, the flags and libtorch are
// unchanged. Finding libtorch, in order:
//   1. LIBTORCH=/prefix (with include/ and lib/), e.g. an unpacked libtorch zip;
//   2. LIBTORCH_USE_PYTORCH=1: the libtorch inside `python3`'s PyTorch (CUDA there);
//   3. the system install (Debian's libtorch-dev).
// The c10d process groups (native/distributed.cpp) need Gloo's headers: GLOO_INCLUDE=/dir (holding
// gloo/), else /usr/include/gloo (Debian's libgloo-dev). Without them the shim still builds and its
// distributed functions say how to get Gloo.
// Usage: deno task build [--force] [--quiet]

const ROOT = new URL("../", import.meta.url).pathname;
const NATIVE = `${ROOT}native/`;
export const BUILD_DIR = `${ROOT}build/`;
export const LIB_PATH = `${BUILD_DIR}libtt.so`;
export const INFO_PATH = `${BUILD_DIR}build-info.json`;

export interface Libtorch {
  source: "LIBTORCH" | "pytorch" | "system";
  includeDirs: string[];
  libDir: string;
  cxx11Abi: boolean;
  version: string;
  cuda: boolean;
}

/** Where the Gloo headers are (null: not found, the shim is built without Gloo). */
export interface Gloo {
  includeDir: string;
}

export interface BuildInfo {
  torchVersion: string;
  cuda: boolean;
  libtorch: Libtorch;
  distributed: { gloo: boolean; glooInclude?: string };
  key: string;
  builtAt: string;
}

export class BuildError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BuildError";
  }
}

export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } catch (e) {
    return { ok: false, out: String(e) };
  }
}

function readVersion(includeDir: string): string {
  for (
    const p of [
      `${includeDir}/torch/csrc/api/include/torch/version.h`,
      `${includeDir}/torch/version.h`,
    ]
  ) {
    if (!exists(p)) continue;
    const text = Deno.readTextFileSync(p);
    const v = ["MAJOR", "MINOR", "PATCH"].map((k) =>
      new RegExp(`TORCH_VERSION_${k}\\s+(\\d+)`).exec(text)?.[1]
    );
    if (v.every((x) => x !== undefined)) return v.join(".");
  }
  return "unknown";
}

const MISSING_HELP = "libtorch was not found. Get it one of these ways:\n" +
  "  - Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp\n" +
  "  - an unpacked libtorch: LIBTORCH=/path/to/libtorch deno task build\n" +
  "  - a PyTorch install: LIBTORCH_USE_PYTORCH=1 deno task build (uses `python3 -c 'import torch'`)";

/** Locates libtorch following the order in the header comment. */
export async function findLibtorch(): Promise<Libtorch> {
  const prefix = Deno.env.get("LIBTORCH");
  if (prefix) {
    const inc = `${prefix}/include`;
    if (!exists(`${inc}/ATen/ATen.h`)) {
      throw new BuildError(`LIBTORCH=${prefix} has no include/ATen/ATen.h.\n${MISSING_HELP}`);
    }
    const libDir = `${prefix}/lib`;
    // Prebuilt libtorch zips say their ABI in the name; default to the C++11 ABI.
    const abi = Deno.env.get("LIBTORCH_CXX11_ABI");
    return {
      source: "LIBTORCH",
      includeDirs: [inc, `${inc}/torch/csrc/api/include`],
      libDir,
      cxx11Abi: abi === undefined ? true : abi === "1",
      version: readVersion(inc),
      cuda: exists(`${libDir}/libtorch_cuda.so`),
    };
  }
  if (Deno.env.get("LIBTORCH_USE_PYTORCH") === "1") {
    const py = Deno.env.get("PYTHON") ?? "python3";
    const code = "import json, os, torch; from torch.utils import cpp_extension as c; " +
      "print(json.dumps({'inc': c.include_paths(), 'lib': os.path.join(os.path.dirname(torch.__file__), 'lib'), " +
      "'abi': bool(torch._C._GLIBCXX_USE_CXX11_ABI), 'version': torch.__version__, " +
      "'cuda': torch.version.cuda is not None}))";
    const r = await run(py, ["-c", code]);
    if (!r.ok) {
      throw new BuildError(
        `LIBTORCH_USE_PYTORCH=1 but \`${py} -c 'import torch'\` failed:\n${r.out.trim()}`,
      );
    }
    const j = JSON.parse(r.out.trim().split("\n").pop()!);
    return {
      source: "pytorch",
      includeDirs: j.inc,
      libDir: j.lib,
      cxx11Abi: j.abi,
      version: j.version,
      cuda: j.cuda && exists(`${j.lib}/libtorch_cuda.so`),
    };
  }
  const multiarch = (await run("gcc", ["-print-multiarch"])).out.trim() || "x86_64-linux-gnu";
  for (
    const [inc, libDir] of [["/usr/include", `/usr/lib/${multiarch}`], [
      "/usr/local/include",
      "/usr/local/lib",
    ]]
  ) {
    if (exists(`${inc}/ATen/ATen.h`) && exists(`${libDir}/libtorch.so`)) {
      return {
        source: "system",
        includeDirs: [`${inc}/torch/csrc/api/include`],
        libDir,
        cxx11Abi: true,
        version: readVersion(inc),
        cuda: exists(`${libDir}/libtorch_cuda.so`),
      };
    }
  }
  throw new BuildError(MISSING_HELP);
}

/**
 * Finds Gloo's headers for native/distributed.cpp: GLOO_INCLUDE, then the system's (Debian's
 * libgloo-dev, the Gloo snapshot Debian's libtorch links). pip's torch 2.x wheels ship c10d's
 * headers but no gloo/ (their Gloo is linked into libtorch_cpu): a build against one needs Gloo's
 * headers of the same snapshot, from a pytorch checkout's third_party/gloo (plus its generated
 * gloo/config.h) or a matching libgloo-dev; not solved yet (docs/DISTRIBUTED.md).
 */
export function findGloo(): Gloo | null {
  const env = Deno.env.get("GLOO_INCLUDE");
  if (env) {
    if (!exists(`${env}/gloo/algorithm.h`)) {
      throw new BuildError(`GLOO_INCLUDE=${env} has no gloo/algorithm.h`);
    }
    return { includeDir: env };
  }
  for (const inc of ["/usr/include", "/usr/local/include"]) {
    if (exists(`${inc}/gloo/algorithm.h`)) return { includeDir: inc };
  }
  return null;
}

/** Extra compile flags of one translation unit. */
function unitFlags(name: string, gloo: Gloo | null): string[] {
  if (name !== "distributed.cpp" || gloo === null) return [];
  return ["-DUSE_C10D_GLOO", "-DTT_WITH_GLOO", `-I${gloo.includeDir}`];
}

function compileFlags(t: Libtorch): string[] {
  return [
    "-std=c++17",
    "-O2",
    "-fPIC",
    "-Wall",
    "-Wno-unused-variable",
    `-D_GLIBCXX_USE_CXX11_ABI=${t.cxx11Abi ? 1 : 0}`,
    ...(t.cuda ? ["-DTT_WITH_CUDA"] : []),
    ...t.includeDirs.map((d) => `-I${d}`),
  ];
}

function linkFlags(t: Libtorch, gloo: Gloo | null): string[] {
  // --no-as-needed keeps libtorch_cuda linked although no symbol of it is used
  // directly; without it CUDA silently disappears at run time.
  return [
    "-shared",
    `-L${t.libDir}`,
    `-Wl,-rpath,${t.libDir}`,
    "-Wl,--no-as-needed",
    ...(t.cuda ? ["-ltorch_cuda"] : []),
    "-ltorch",
    "-ltorch_cpu",
    "-lc10",
    ...(gloo ? ["-lgloo"] : []),
    "-Wl,--as-needed",
  ];
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

function sources(): { cpp: string[]; all: string[] } {
  const all = [...Deno.readDirSync(NATIVE)]
    .filter((e) => e.isFile && /\.(cpp|h)$/.test(e.name))
    .map((e) => e.name)
    .sort();
  return { cpp: all.filter((n) => n.endsWith(".cpp")), all };
}

function libtorchStamp(t: Libtorch): string {
  const lib = `${t.libDir}/libtorch_cpu.so`;
  const st = exists(lib) ? Deno.statSync(lib) : null;
  return `${lib}:${st?.size}:${st?.mtime?.getTime()}`;
}

/** The build-info of the current build, or null when there is none. */
export function readBuildInfo(): BuildInfo | null {
  try {
    return JSON.parse(Deno.readTextFileSync(INFO_PATH));
  } catch {
    return null;
  }
}

/**
 * Builds the shim unless it is up to date. Returns the build info.
 * `log` receives progress lines (default: stderr).
 */
export async function buildNative(
  opts: { force?: boolean; log?: (line: string) => void } = {},
): Promise<BuildInfo> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const torch = await findLibtorch();
  const gloo = findGloo();
  const src = sources();
  const flags = [
    ...compileFlags(torch),
    "|",
    ...unitFlags("distributed.cpp", gloo),
    "|",
    ...linkFlags(torch, gloo),
  ];
  const texts = src.all.map((n) => `${n}\n${Deno.readTextFileSync(NATIVE + n)}`);
  const key = await sha256([...texts, flags.join(" "), libtorchStamp(torch)].join("\n"));
  const prev = readBuildInfo();
  if (!opts.force && prev?.key === key && exists(LIB_PATH)) return prev;

  const gxx = Deno.env.get("CXX") ?? "g++";
  if (!(await run(gxx, ["--version"])).ok) {
    throw new BuildError(
      `no C++ compiler (${gxx}) found. Install one: sudo apt-get install g++ (or set CXX)`,
    );
  }
  log(
    `building the libtorch shim against libtorch ${torch.version} (${torch.source}` +
      `${torch.cuda ? ", CUDA" : ", CPU"}${gloo ? ", Gloo" : ", no Gloo"}) ...`,
  );
  const objDir = `${BUILD_DIR}obj/`;
  Deno.mkdirSync(objDir, { recursive: true });
  const headers = texts.filter((_, i) => src.all[i].endsWith(".h")).join("\n");
  const cflags = compileFlags(torch);
  // Compile translation units in parallel; each object is reused while its
  // source, the headers and the flags are unchanged.
  const jobs = src.cpp.map((name) => async () => {
    const obj = `${objDir}${name.replace(/\.cpp$/, ".o")}`;
    const uflags = [...cflags, ...unitFlags(name, gloo)];
    const okey = await sha256(
      [Deno.readTextFileSync(NATIVE + name), headers, uflags.join(" "), libtorchStamp(torch)]
        .join("\n"),
    );
    const stamp = `${obj}.key`;
    if (!opts.force && exists(obj) && exists(stamp) && Deno.readTextFileSync(stamp) === okey) {
      return;
    }
    const t0 = performance.now();
    const r = await run(gxx, [...uflags, "-c", NATIVE + name, "-o", obj]);
    if (!r.ok) throw new BuildError(`compiling native/${name} failed:\n${r.out}`);
    Deno.writeTextFileSync(stamp, okey);
    log(`  compiled native/${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
  const width = Math.max(1, navigator.hardwareConcurrency || 2);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, jobs.length) }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }),
  );
  const objs = src.cpp.map((n) => `${objDir}${n.replace(/\.cpp$/, ".o")}`);
  const tmp = `${LIB_PATH}.tmp-${Deno.pid}`;
  const r = await run(gxx, [...objs, "-o", tmp, ...linkFlags(torch, gloo)]);
  if (!r.ok) throw new BuildError(`linking the shim failed:\n${r.out}`);
  Deno.renameSync(tmp, LIB_PATH);
  const info: BuildInfo = {
    torchVersion: torch.version,
    cuda: torch.cuda,
    libtorch: torch,
    distributed: gloo ? { gloo: true, glooInclude: gloo.includeDir } : { gloo: false },
    key,
    builtAt: new Date().toISOString(),
  };
  Deno.writeTextFileSync(INFO_PATH, JSON.stringify(info, null, 2) + "\n");
  log(`built ${LIB_PATH}`);
  return info;
}

if (import.meta.main) {
  const force = Deno.args.includes("--force");
  const quiet = Deno.args.includes("--quiet");
  try {
    const info = await buildNative({ force, log: quiet ? () => {} : undefined });
    if (!quiet) {
      console.error(
        `shim up to date: libtorch ${info.torchVersion}${info.cuda ? " with CUDA" : " (CPU)"}` +
          `, ${info.distributed?.gloo ? "with" : "without"} Gloo`,
      );
    }
  } catch (e) {
    if (e instanceof BuildError) {
      console.error(`error: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
