// Builds the libtorch shim (native/*.cpp -> build/libtt.so) and writes
// build/build-info.json. Skipped when the sources, the flags and libtorch are
// unchanged. Finding libtorch, in order:
//   1. LIBTORCH=/prefix (with include/ and lib/), e.g. an unpacked libtorch zip;
//   2. LIBTORCH_USE_PYTORCH=1: the libtorch inside the PyTorch of `$PYTHON`
//      (default python3), e.g. a venv's or a conda env's (CUDA where it has it);
//   3. the system install (Debian's libtorch-dev).
// Supported: libtorch 1.13 and 2.x. The C++ standard follows the headers
// (C++20 where ATen requires it, else C++17).
// The c10d process groups (native/distributed.cpp) need Gloo's headers: GLOO_INCLUDE=/dir (holding
// gloo/), else /usr/include/gloo (Debian's libgloo-dev). Without them the shim still builds and its
// distributed functions say how to get Gloo.
// Usage: deno task build [--force] [--quiet] [--out DIR]
//   --out DIR (or BYOL_BUILD_DIR=DIR): build into DIR instead of build/; the
//   shim is then loaded from DIR when BYOL_BUILD_DIR=DIR is set (ffi/shim_path.ts)
//   or with TORCH_SHIM_PATH=DIR/libtt.so.
import { buildDir } from "../ffi/shim_path.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const NATIVE = `${ROOT}native/`;
/** The default build folder (BYOL_BUILD_DIR, else build/), with a trailing slash. */
export const BUILD_DIR = buildDir();
export const LIB_PATH = `${BUILD_DIR}libtt.so`;
export const INFO_PATH = `${BUILD_DIR}build-info.json`;

/** The libtorch versions the shim builds against: 1.13.x and 2.x. */
export const SUPPORTED = "libtorch 1.13 and 2.x (tested: 1.13.1 from Debian 12, " +
  "2.14.1 from pip with CUDA 13.0)";

export interface Nccl {
  /** libtorch ships the c10d NCCL process group headers (ProcessGroupNCCL.hpp). */
  c10dHeaders: boolean;
  /** The folder with nccl.h (the nvidia-nccl wheel's include/, or a system one), or null. */
  includeDir: string | null;
  /** The folder with libnccl.so*, or null. */
  libDir: string | null;
  /** NCCL's version from nccl.h, or null. */
  version: string | null;
  /**
   * The folders with the CUDA headers ProcessGroupNCCL.hpp includes (runtime,
   * cuBLAS, cuSPARSE, cuSOLVER): the nvidia wheels' include/ next to the nccl
   * wheel, or /usr/local/cuda/include; empty when one of them is missing.
   */
  cudaIncludeDirs: string[];
}

export interface Libtorch {
  source: "LIBTORCH" | "pytorch" | "system";
  includeDirs: string[];
  libDir: string;
  cxx11Abi: boolean;
  version: string;
  cuda: boolean;
  /** CUDA's version this libtorch was built with (pip's torch.version.cuda), or null. */
  cudaVersion: string | null;
  /** The -std= its headers need (cxxStandard). */
  cxxStd: string;
  /** The Python whose `import torch` is this libtorch; null when none is known. */
  referencePython: string | null;
  nccl: Nccl;
}

/** Where the Gloo headers are (null: not found, the shim is built without Gloo). */
export interface Gloo {
  includeDir: string;
}

export interface BuildInfo {
  torchVersion: string;
  cuda: boolean;
  cudaVersion: string | null;
  /** The -std= the shim was compiled with (c++17, c++20). */
  cxxStd: string;
  /** The PyTorch the tests and the bench compare against (tests/helpers/python.ts). */
  referencePython: string | null;
  nccl: Nccl;
  libtorch: Libtorch;
  distributed: { gloo: boolean; glooInclude?: string; nccl?: boolean };
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

interface RunResult {
  ok: boolean;
  /** stdout and stderr together. */
  out: string;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[]): Promise<RunResult> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    const stdout = dec.decode(r.stdout), stderr = dec.decode(r.stderr);
    return { ok: r.success, out: stdout + stderr, stdout, stderr };
  } catch (e) {
    return { ok: false, out: String(e), stdout: "", stderr: String(e) };
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
  "  - a PyTorch install: LIBTORCH_USE_PYTORCH=1 [PYTHON=/path/to/venv/bin/python] " +
  "deno task build (default PYTHON: python3)";

/** Marks the one stdout line of the probe below that holds its JSON answer. */
const PROBE_MARKER = "BYOL_TORCH_PROBE ";
// Run by `$PYTHON -c`: whatever torch prints on import (warnings on stderr,
// anything on stdout) is left alone; the answer is the marker-prefixed line.
const PROBE = `
import importlib.util, json, os, sys
def answer(d):
    sys.stdout.write("\\n${PROBE_MARKER}" + json.dumps(d) + "\\n")
try:
    import torch
    from torch.utils import cpp_extension
except Exception as e:
    answer({"error": type(e).__name__ + ": " + str(e), "python": sys.executable})
    sys.exit(0)
def nccl_dir():
    try:
        spec = importlib.util.find_spec("nvidia.nccl")
    except Exception:
        return None
    return list(spec.submodule_search_locations)[0] if spec and spec.submodule_search_locations else None
answer({
    "python": sys.executable,
    "inc": cpp_extension.include_paths(),
    "lib": os.path.join(os.path.dirname(torch.__file__), "lib"),
    "abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI),
    "version": torch.__version__,
    "cuda": torch.version.cuda,
    "ncclWheel": nccl_dir(),
})
`;

function ncclVersion(includeDir: string): string | null {
  try {
    const text = Deno.readTextFileSync(`${includeDir}/nccl.h`);
    const v = ["MAJOR", "MINOR", "PATCH"].map((k) =>
      new RegExp(`#define NCCL_${k}\\s+(\\d+)`).exec(text)?.[1]
    );
    return v.every((x) => x !== undefined) ? v.join(".") : null;
  } catch {
    return null;
  }
}

function hasNcclLib(dir: string): boolean {
  try {
    return [...Deno.readDirSync(dir)].some((e) => /^libnccl\.so/.test(e.name));
  } catch {
    return false;
  }
}

/** What ATen/cuda/CUDAContext.h (included by ProcessGroupNCCL.hpp) needs of CUDA. */
const CUDA_HEADERS = [
  "cuda_runtime_api.h",
  "crt/host_config.h", // nvcc's, not in the runtime wheel: /usr/local/cuda/include
  "cublas_v2.h",
  "cusparse.h",
  "cusolverDn.h",
];

/** The fewest of `candidates` that together hold every CUDA header, in order; [] if one is missing. */
function findCudaHeaders(candidates: string[]): string[] {
  const dirs: string[] = [];
  for (const h of CUDA_HEADERS) {
    const d = candidates.find((c) => exists(`${c}/${h}`));
    if (d === undefined) return [];
    if (!dirs.includes(d)) dirs.push(d);
  }
  return dirs;
}

/** The include/ folders of the nvidia wheels next to the nccl wheel (nvidia/cu13/include, ...). */
function nvidiaWheelIncludes(wheel: string | null): string[] {
  if (wheel === null) return [];
  const nvidia = wheel.replace(/\/+$/, "").replace(/\/[^/]+$/, "");
  try {
    return [...Deno.readDirSync(nvidia)]
      .filter((e) => e.isDirectory)
      .map((e) => `${nvidia}/${e.name}/include`)
      .filter(exists)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Where NCCL is for this libtorch: the nvidia-nccl wheel next to a pip torch,
 * else libtorch's own folders, else the system's; and CUDA's headers for
 * c10d's ProcessGroupNCCL.hpp.
 */
function findNccl(includeDirs: string[], libDir: string, wheel: string | null): Nccl {
  const incs = [
    ...(wheel ? [`${wheel}/include`] : []),
    ...includeDirs,
    "/usr/include",
    "/usr/local/cuda/include",
  ];
  const libs = [
    ...(wheel ? [`${wheel}/lib`] : []),
    libDir,
    "/usr/lib/x86_64-linux-gnu",
    "/usr/local/cuda/lib64",
  ];
  const includeDir = incs.find((d) => exists(`${d}/nccl.h`)) ?? null;
  return {
    c10dHeaders: includeDirs.some((d) =>
      exists(`${d}/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp`)
    ),
    includeDir,
    libDir: libs.find(hasNcclLib) ?? null,
    version: includeDir ? ncclVersion(includeDir) : null,
    cudaIncludeDirs: findCudaHeaders([
      ...nvidiaWheelIncludes(wheel),
      ...includeDirs,
      "/usr/local/cuda/include",
    ]),
  };
}

/**
 * Whether distributed.cpp is built with NCCL: a CUDA libtorch 2.x with c10d's
 * NCCL headers, nccl.h and CUDA's headers, and Gloo (whose stores it shares).
 */
export function withNccl(t: Libtorch, gloo: Gloo | null): boolean {
  const n = t.nccl;
  return t.cuda && gloo !== null && Number(t.version.split(".")[0]) >= 2 && n.c10dHeaders &&
    n.includeDir !== null && n.cudaIncludeDirs.length > 0;
}

/** Throws when the libtorch version is outside what the shim supports. */
export function checkVersion(version: string, where: string): void {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return; // unknown: let the compiler speak
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if ((major === 1 && minor >= 13) || major === 2) return;
  throw new BuildError(
    `libtorch ${version} (${where}) is not supported: the shim builds against ${SUPPORTED}.`,
  );
}

/**
 * The C++ standard the headers need: C++20 where ATen says so (`#error C++20
 * or later compatible compiler is required`, PyTorch 2.x from some release on),
 * else C++17, which 1.13 and the early 2.x need.
 */
export function cxxStandard(includeDirs: string[]): string {
  for (const d of includeDirs) {
    for (const h of ["ATen/ATen.h", "c10/macros/Macros.h"]) {
      if (!exists(`${d}/${h}`)) continue;
      if (/C\+\+20 or later|__cplusplus\s*<\s*202002L/.test(Deno.readTextFileSync(`${d}/${h}`))) {
        return "c++20";
      }
    }
  }
  return "c++17";
}

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
    const includeDirs = [inc, `${inc}/torch/csrc/api/include`];
    const version = readVersion(inc);
    checkVersion(version, `LIBTORCH=${prefix}`);
    return {
      source: "LIBTORCH",
      includeDirs,
      libDir,
      cxx11Abi: abi === undefined ? true : abi === "1",
      version,
      cuda: exists(`${libDir}/libtorch_cuda.so`),
      cudaVersion: null,
      cxxStd: cxxStandard(includeDirs),
      // A bare libtorch has no Python; PYTHON names one with the same torch.
      referencePython: Deno.env.get("PYTHON") || null,
      nccl: findNccl(includeDirs, libDir, null),
    };
  }
  if (Deno.env.get("LIBTORCH_USE_PYTORCH") === "1") {
    const py = Deno.env.get("PYTHON") || "python3";
    const r = await run(py, ["-c", PROBE]);
    const line = r.stdout.split("\n").find((l) => l.startsWith(PROBE_MARKER));
    if (!line) {
      throw new BuildError(
        `LIBTORCH_USE_PYTORCH=1: \`${py}\` could not be asked where its torch is` +
          (r.ok ? " (no answer on stdout)" : "") + `:\n${r.out.trim()}\n` +
          "Set PYTHON to the interpreter of the env that has PyTorch (PYTHON=/path/to/venv/bin/python).",
      );
    }
    const j = JSON.parse(line.slice(PROBE_MARKER.length));
    if (j.error) {
      throw new BuildError(
        `LIBTORCH_USE_PYTORCH=1 but torch is not importable in ${py} (${j.python}): ${j.error}` +
          (r.stderr.trim() ? `\n${r.stderr.trim()}` : "") +
          "\nInstall it there (pip install torch) or set PYTHON to an interpreter that has it.",
      );
    }
    checkVersion(j.version, `the torch of ${j.python}`);
    const cuda = j.cuda !== null && exists(`${j.lib}/libtorch_cuda.so`);
    return {
      source: "pytorch",
      includeDirs: j.inc,
      libDir: j.lib,
      cxx11Abi: j.abi,
      version: j.version,
      cuda,
      cudaVersion: j.cuda,
      cxxStd: cxxStandard(j.inc),
      referencePython: j.python,
      nccl: findNccl(j.inc, j.lib, j.ncclWheel),
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
      const includeDirs = [`${inc}/torch/csrc/api/include`];
      const version = readVersion(inc);
      checkVersion(version, `${libDir}/libtorch.so`);
      return {
        source: "system",
        includeDirs,
        libDir,
        cxx11Abi: true,
        version,
        cuda: exists(`${libDir}/libtorch_cuda.so`),
        cudaVersion: null,
        cxxStd: cxxStandard([inc]),
        // Debian's python3-torch is the same libtorch (PYTHON may name another).
        referencePython: Deno.env.get("PYTHON") ||
          (exists("/usr/bin/python3") ? "/usr/bin/python3" : null),
        nccl: findNccl([inc, ...includeDirs], libDir, null),
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
function unitFlags(name: string, t: Libtorch, gloo: Gloo | null): string[] {
  if (name !== "distributed.cpp" || gloo === null) return [];
  return [
    "-DUSE_C10D_GLOO",
    "-DTT_WITH_GLOO",
    `-I${gloo.includeDir}`,
    ...(withNccl(t, gloo)
      ? [
        "-DUSE_C10D_NCCL",
        "-DTT_WITH_NCCL",
        `-I${t.nccl.includeDir}`,
        ...t.nccl.cudaIncludeDirs.map((d) => `-I${d}`),
      ]
      : []),
  ];
}

function compileFlags(t: Libtorch): string[] {
  return [
    `-std=${t.cxxStd}`,
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

/** The build-info in `dir` (default: the build folder), or null when there is none. */
export function readBuildInfo(dir: string = BUILD_DIR): BuildInfo | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${withSlash(dir)}build-info.json`));
  } catch {
    return null;
  }
}

function withSlash(dir: string): string {
  const abs = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  return abs.replace(/\/*$/, "/");
}

/**
 * Builds the shim unless it is up to date. Returns the build info.
 * `outDir` is the build folder (default: BYOL_BUILD_DIR, else build/);
 * `log` receives progress lines (default: stderr).
 */
export async function buildNative(
  opts: { force?: boolean; outDir?: string; log?: (line: string) => void } = {},
): Promise<BuildInfo> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const dir = withSlash(opts.outDir ?? BUILD_DIR);
  const libPath = `${dir}libtt.so`;
  const torch = await findLibtorch();
  const gloo = findGloo();
  const src = sources();
  const flags = [
    ...compileFlags(torch),
    "|",
    ...unitFlags("distributed.cpp", torch, gloo),
    "|",
    ...linkFlags(torch, gloo),
  ];
  const texts = src.all.map((n) => `${n}\n${Deno.readTextFileSync(NATIVE + n)}`);
  const key = await sha256(
    [...texts, flags.join(" "), libtorchStamp(torch), JSON.stringify(torch)].join("\n"),
  );
  const prev = readBuildInfo(dir);
  if (!opts.force && prev?.key === key && exists(libPath)) return prev;

  const gxx = Deno.env.get("CXX") ?? "g++";
  if (!(await run(gxx, ["--version"])).ok) {
    throw new BuildError(
      `no C++ compiler (${gxx}) found. Install one: sudo apt-get install g++ (or set CXX)`,
    );
  }
  log(
    `building the libtorch shim against libtorch ${torch.version} (${torch.source}` +
      `${torch.cuda ? `, CUDA ${torch.cudaVersion ?? ""}`.trimEnd() : ", CPU"}, ${torch.cxxStd}` +
      `${gloo ? ", Gloo" : ", no Gloo"}${withNccl(torch, gloo) ? ", NCCL" : ""}` +
      `${torch.referencePython ? `, reference ${torch.referencePython}` : ""}) into ${dir} ...`,
  );
  const objDir = `${dir}obj/`;
  Deno.mkdirSync(objDir, { recursive: true });
  const headers = texts.filter((_, i) => src.all[i].endsWith(".h")).join("\n");
  const cflags = compileFlags(torch);
  // Compile translation units in parallel; each object is reused while its
  // source, the headers and the flags are unchanged.
  const jobs = src.cpp.map((name) => async () => {
    const obj = `${objDir}${name.replace(/\.cpp$/, ".o")}`;
    const uflags = [...cflags, ...unitFlags(name, torch, gloo)];
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
  const tmp = `${libPath}.tmp-${Deno.pid}`;
  const r = await run(gxx, [...objs, "-o", tmp, ...linkFlags(torch, gloo)]);
  if (!r.ok) throw new BuildError(`linking the shim failed:\n${r.out}`);
  Deno.renameSync(tmp, libPath);
  const info: BuildInfo = {
    torchVersion: torch.version,
    cuda: torch.cuda,
    cudaVersion: torch.cudaVersion,
    cxxStd: torch.cxxStd,
    referencePython: torch.referencePython,
    nccl: torch.nccl,
    libtorch: torch,
    distributed: gloo
      ? { gloo: true, glooInclude: gloo.includeDir, nccl: withNccl(torch, gloo) }
      : { gloo: false },
    key,
    builtAt: new Date().toISOString(),
  };
  Deno.writeTextFileSync(`${dir}build-info.json`, JSON.stringify(info, null, 2) + "\n");
  log(`built ${libPath}`);
  return info;
}

const USAGE = "usage: deno task build [--force] [--quiet] [--out DIR]";

if (import.meta.main) {
  const args = [...Deno.args];
  let outDir: string | undefined;
  const i = args.findIndex((a) => a === "--out" || a.startsWith("--out="));
  if (i >= 0) {
    outDir = args[i].startsWith("--out=") ? args[i].slice(6) : args[i + 1];
    args.splice(i, args[i].startsWith("--out=") ? 1 : 2);
    if (!outDir) {
      console.error(`error: --out needs a folder\n${USAGE}`);
      Deno.exit(2);
    }
  }
  const unknown = args.filter((a) => a !== "--force" && a !== "--quiet");
  if (unknown.length > 0) {
    console.error(`error: unknown argument ${unknown[0]}\n${USAGE}`);
    Deno.exit(2);
  }
  const force = args.includes("--force");
  const quiet = args.includes("--quiet");
  try {
    const info = await buildNative({ force, outDir, log: quiet ? () => {} : undefined });
    if (!quiet) {
      console.error(
        `shim up to date: libtorch ${info.torchVersion}` +
          `${info.cuda ? ` with CUDA ${info.cudaVersion ?? ""}`.trimEnd() : " (CPU)"}, ` +
          `${info.cxxStd}, ${info.distributed?.gloo ? "with" : "without"} Gloo` +
          `${info.distributed?.nccl ? " and NCCL" : ""}, ` +
          `reference Python ${info.referencePython ?? "none (set PYTHON)"}`,
      );
      if (outDir !== undefined && withSlash(outDir) !== BUILD_DIR) {
        console.error(
          `load it with BYOL_BUILD_DIR=${outDir} (or TORCH_SHIM_PATH=${withSlash(outDir)}libtt.so)`,
        );
      }
    }
  } catch (e) {
    if (e instanceof BuildError) {
      console.error(`error: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
