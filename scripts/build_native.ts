// Builds the libtorch shim (native/*.cpp -> build/libtt.so) and writes
// build/build-info.json. Skipped when the sources, the flags and libtorch are
// unchanged. Finding libtorch, in order:
//   1. LIBTORCH=/prefix (with include/ and lib/), e.g. an unpacked libtorch zip;
//   2. LIBTORCH_USE_PYTORCH=1: the libtorch inside the PyTorch of `$PYTHON`
//      (default python3), e.g. a venv's or a conda env's (CUDA where it has it);
//   3. the system install (Debian's libtorch-dev).
// Supported: libtorch 1.13 and 2.x. The C++ standard follows the headers
// (C++20 where ATen requires it, else C++17).
// The c10d process groups (native/dist_*.cpp) have two backends, each compiled into its own unit:
// NCCL (dist_nccl.cpp) on a CUDA libtorch 2.x whose c10d NCCL headers, nccl.h, libnccl and CUDA's
// headers are found; Gloo (dist_gloo.cpp) where Gloo's headers are: GLOO_INCLUDE=/dir (holding
// gloo/), else for 1.13 Debian's libgloo-dev (the Gloo commit Debian's libtorch links), for 2.x
// the headers in native/third_party/gloo. dist_gloo.cpp uses no Gloo type's layout or code, and
// the build checks it (glooObjectProblems); BYOL_NO_GLOO=1 or --no-gloo leaves Gloo out. With
// neither backend the shim still builds and its distributed functions say what is missing.
// CUDA graphs (cuda_graph.cpp, -DTT_WITH_CUDA_GRAPHS) on a CUDA libtorch 2.x whose CUDA headers are
// found (as for NCCL); elsewhere the unit's functions fail with the reason (cudaGraphsSupport).
// The image decoder (native/image/decode_image.c -> libttimage.so next to the shim, no libtorch:
// the decode workers open it) is optional: built when a C compiler finds jpeglib.h and png.h
// (libjpeg62-turbo-dev, libpng-dev), else left out with the reason in build-info's imageDecoder,
// and the image loaders decode with imagescript. BYOL_NO_IMAGE_DECODER=1 leaves it out.
// Usage: deno task build [--force] [--quiet] [--no-gloo] [--out DIR]
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

/** Where the Gloo headers come from, for dist_gloo.cpp. */
export interface Gloo {
  includeDir: string;
  /** GLOO_INCLUDE, the system's (libgloo-dev) or the copy in native/third_party/gloo. */
  source: "GLOO_INCLUDE" | "system" | "vendored";
  /** libtorch's ProcessGroupGloo::Options has create_default (2.x): its defaults are used. */
  createDefault: boolean;
  /** Link -lgloo (Debian's libtorch 1.13 links Gloo as a shared library). */
  linkGloo: boolean;
}

/** The distributed part of a build: which backends, and why one is absent. */
export interface Distributed {
  gloo: boolean;
  /** Where dist_gloo.cpp's Gloo headers came from (with gloo). */
  glooInclude?: string;
  glooSource?: Gloo["source"];
  nccl: boolean;
  /** Why Gloo is absent (one line with the fix), when it is. */
  noGlooReason?: string;
}

/** The optional native image decoder (libttimage.so) of a build: built or why not. */
export type ImageDecoderInfo =
  | {
    built: true;
    /** "libjpeg-turbo 2.1.5" (from jconfig.h), or "libjpeg 62" for the IJG library. */
    libjpeg: string;
    /** libpng's version from png.h, e.g. "1.6.39". */
    libpng: string;
    /** Over the sources, the flags, the compiler and the header versions. */
    key: string;
  }
  | { built: false; reason: string };

export interface BuildInfo {
  torchVersion: string;
  /** native/image/'s decoder, built next to the shim (absent in older build-infos). */
  imageDecoder?: ImageDecoderInfo;
  /** native/cuda_graph.cpp was compiled with CUDA graphs (cudaGraphsSupport). */
  cudaGraphs: boolean;
  /** Why CUDA graphs are absent (one line), when they are. */
  noCudaGraphsReason?: string;
  cuda: boolean;
  cudaVersion: string | null;
  /** The -std= the shim was compiled with (c++17, c++20). */
  cxxStd: string;
  /** The PyTorch the tests and the bench compare against (tests/helpers/python.ts). */
  referencePython: string | null;
  nccl: Nccl;
  libtorch: Libtorch;
  distributed: Distributed;
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
 * Whether dist_nccl.cpp is built: a CUDA libtorch 2.x with c10d's NCCL headers, nccl.h, libnccl
 * and CUDA's headers (with or without Gloo).
 */
export function withNccl(t: Libtorch): boolean {
  const n = t.nccl;
  return t.cuda && Number(t.version.split(".")[0]) >= 2 && n.c10dHeaders &&
    n.includeDir !== null && n.libDir !== null && n.cudaIncludeDirs.length > 0;
}

/** The unit of CUDA graphs: CUDA's headers and -DTT_WITH_CUDA_GRAPHS where cudaGraphsSupport allows. */
export const CUDA_GRAPH_UNIT = "cuda_graph.cpp";

/**
 * Whether native/cuda_graph.cpp is built with CUDA graphs (at::cuda::CUDAGraph): a CUDA libtorch
 * 2.x whose CUDA headers are found (the folders dist_nccl.cpp takes, found by findCudaHeaders
 * whether or not NCCL is). Otherwise the one-line reason its functions give (they add ": run with
 * --cuda-graphs off").
 */
export function cudaGraphsSupport(
  t: Libtorch,
): { ok: true; includeDirs: string[] } | { ok: false; reason: string } {
  if (!t.cuda) {
    return {
      ok: false,
      reason: "CUDA graphs need a libtorch built with CUDA; this one is CPU-only",
    };
  }
  if (Number(t.version.split(".")[0]) < 2) {
    return { ok: false, reason: `CUDA graphs need libtorch 2.x; this one is ${t.version}` };
  }
  if (t.nccl.cudaIncludeDirs.length === 0) {
    return {
      ok: false,
      reason: `CUDA graphs need CUDA's headers (${CUDA_HEADERS.join(", ")}) when the shim is ` +
        "built, and the build found none next to libtorch or in /usr/local/cuda/include",
    };
  }
  return { ok: true, includeDirs: t.nccl.cudaIncludeDirs };
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

/** The Gloo headers shipped in the repo (the commit torch 2.11 pins; native/third_party/gloo). */
export const VENDORED_GLOO = `${NATIVE}third_party/gloo`;

/**
 * Finds Gloo's headers for native/dist_gloo.cpp, or says in one line why there are none:
 * GLOO_INCLUDE, then for libtorch 1.13 the system's (Debian's libgloo-dev, the Gloo snapshot
 * Debian's libtorch links) and for 2.x the copy in native/third_party/gloo (pip's wheels ship
 * c10d's headers but no gloo/; their Gloo is inside libtorch_cpu). Any of them is safe: see
 * dist_gloo.cpp and glooObjectProblems.
 */
export function findGloo(t: Libtorch, disabled: string | false = false): Gloo | { reason: string } {
  if (disabled) return { reason: disabled };
  const header = [...t.includeDirs, "/usr/include", "/usr/local/include"]
    .map((d) => `${d}/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp`)
    .find(exists);
  if (header === undefined) {
    return {
      reason: `libtorch ${t.version} has no c10d/ProcessGroupGloo.hpp (built without Gloo)`,
    };
  }
  const createDefault = /\bcreate_default\s*\(/.test(Deno.readTextFileSync(header));
  const major = Number(t.version.split(".")[0]);
  const env = Deno.env.get("GLOO_INCLUDE");
  if (env) {
    if (!exists(`${env}/gloo/algorithm.h`)) {
      throw new BuildError(`GLOO_INCLUDE=${env} has no gloo/algorithm.h`);
    }
    return { includeDir: env, source: "GLOO_INCLUDE", createDefault, linkGloo: major < 2 };
  }
  if (major >= 2) {
    return { includeDir: VENDORED_GLOO, source: "vendored", createDefault, linkGloo: false };
  }
  for (const inc of ["/usr/include", "/usr/local/include"]) {
    if (exists(`${inc}/gloo/algorithm.h`)) {
      return { includeDir: inc, source: "system", createDefault, linkGloo: true };
    }
  }
  return {
    reason: `no Gloo headers for libtorch ${t.version}: apt-get install libgloo-dev (Debian's ` +
      "Gloo, the one its libtorch links), or GLOO_INCLUDE=/dir holding gloo/",
  };
}

const isGloo = (g: Gloo | { reason: string }): g is Gloo => "includeDir" in g;

/** The units of the c10d process groups (native/dist_*.cpp). */
const isDist = (name: string) => name.startsWith("dist_");

/** Extra compile flags of one translation unit. */
export function unitFlags(name: string, t: Libtorch, gloo: Gloo | null): string[] {
  if (name === CUDA_GRAPH_UNIT) {
    const g = cudaGraphsSupport(t);
    // A reason as a C string literal (JSON's escapes of this ASCII text are C's).
    return g.ok
      ? ["-DTT_WITH_CUDA_GRAPHS", ...g.includeDirs.map((d) => `-I${d}`)]
      : [`-DTT_CUDA_GRAPHS_MISSING=${JSON.stringify(g.reason)}`];
  }
  if (!isDist(name)) return [];
  const nccl = withNccl(t);
  if (gloo === null && !nccl) return [];
  const flags = [
    "-DTT_WITH_C10D",
    ...(gloo ? ["-DTT_WITH_GLOO"] : []),
    ...(nccl ? ["-DTT_WITH_NCCL"] : []),
  ];
  if (name === "dist_gloo.cpp" && gloo) {
    // No inlining: every function this unit runs is a symbol of its object,
    // which glooObjectProblems reads. The unit runs once per process group.
    flags.push("-DUSE_C10D_GLOO", `-I${gloo.includeDir}`, "-O0", "-fno-inline");
    if (gloo.createDefault) flags.push("-DTT_GLOO_CREATE_DEFAULT");
  }
  if (name === "dist_nccl.cpp" && nccl) {
    flags.push(
      "-DUSE_C10D_NCCL",
      `-I${t.nccl.includeDir}`,
      ...t.nccl.cudaIncludeDirs.map((d) => `-I${d}`),
    );
  }
  return flags;
}

/**
 * What in dist_gloo.o would make it depend on the layout of the Gloo it was compiled against:
 * any function, vtable or typeinfo of namespace gloo that the object defines or calls (it is
 * compiled without inlining, so every function it runs is a symbol of its own). Names that only
 * mention a Gloo class as a template argument (std::shared_ptr<gloo::transport::Device>) are fine:
 * they move pointers; so are the unit's private copies of Gloo's namespace-scope constants (nm
 * types r, d, b: emitted unused at -O0, and values, not layouts). Returns the offending symbols
 * as `type name`; [] when the object is clean.
 */
export function glooObjectProblems(nmOutput: string): string[] {
  const bad: string[] = [];
  for (const line of nmOutput.split("\n")) {
    const m = /^\s*(?:[0-9a-fA-F]+\s+)?([A-Za-z])\s+(.+)$/.exec(line);
    if (!m || "rdbn".includes(m[1])) continue;
    const name = m[2].replace(/^(?:non-virtual |virtual )?thunk to /, "");
    if (
      /^(?:vtable|typeinfo|typeinfo name|VTT|construction vtable) for (?:.* in )?gloo::/.test(
        name,
      ) ||
      /^gloo::/.test(name)
    ) {
      bad.push(`${m[1]} ${name}`);
    }
  }
  return bad;
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
    ...(gloo?.linkGloo ? ["-lgloo"] : []),
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

/** The image decoder's sources (tt_image.h is its API). */
export const IMAGE_DIR = `${NATIVE}image/`;
/** The image decoder's file name in the build folder (src/data/native_decoder.ts opens it). */
export const IMAGE_LIB = "libttimage.so";
/** The Debian packages whose headers the image decoder needs. */
export const IMAGE_PACKAGES = ["libjpeg62-turbo-dev", "libpng-dev"];

/** What the C compiler sees of libjpeg and libpng: one line each, read back after `cc -E`. */
const IMAGE_PROBE = `#include <stdio.h>
#include <jpeglib.h>
#include <png.h>
#ifdef LIBJPEG_TURBO_VERSION
TTI_JPEG libjpeg-turbo LIBJPEG_TURBO_VERSION
#else
TTI_JPEG libjpeg JPEG_LIB_VERSION
#endif
TTI_PNG PNG_LIBPNG_VER_STRING
`;

/**
 * The libjpeg and libpng versions the C compiler `cc` finds (with `cflags`), or
 * which header is missing and the package that has it.
 */
export async function probeImageLibs(
  cc: string,
  cflags: string[],
  scratch: string,
): Promise<{ libjpeg: string; libpng: string } | { reason: string }> {
  if (!(await run(cc, ["--version"])).ok) {
    return { reason: `no C compiler (${cc}): sudo apt-get install gcc (or set CC)` };
  }
  const probe = async (text: string) => {
    const file = `${scratch}image_probe_${Deno.pid}.c`;
    Deno.writeTextFileSync(file, text);
    try {
      return await run(cc, [...cflags, "-E", "-P", file]);
    } finally {
      Deno.removeSync(file);
    }
  };
  const missing: string[] = [];
  for (const [h, pkg] of [["jpeglib.h", IMAGE_PACKAGES[0]], ["png.h", IMAGE_PACKAGES[1]]]) {
    const pre = h === "jpeglib.h" ? "#include <stdio.h>\n" : "";
    if (!(await probe(`${pre}#include <${h}>\n`)).ok) missing.push(`${h} (${pkg})`);
  }
  if (missing.length > 0) {
    return {
      reason: `${missing.join(" and ")} not found: sudo apt-get install ${
        IMAGE_PACKAGES.join(" ")
      } and deno task build`,
    };
  }
  const r = await probe(IMAGE_PROBE);
  const jpeg = /^TTI_JPEG (.+)$/m.exec(r.stdout)?.[1]?.trim();
  const png = /^TTI_PNG "?([^"\s]+)"?/m.exec(r.stdout)?.[1];
  if (!r.ok || !jpeg || !png) {
    return { reason: `cannot read libjpeg's and libpng's versions from their headers: ${r.out}` };
  }
  return { libjpeg: jpeg, libpng: png };
}

/**
 * Builds native/image/decode_image.c into `dir`/libttimage.so when libjpeg's and
 * libpng's headers are found, skipped while its sources, flags, compiler and the
 * libraries' versions are unchanged (a key file next to it). Never fails the
 * build: without the headers (or with BYOL_NO_IMAGE_DECODER=1, which also removes
 * an earlier libttimage.so) the result says why, and images decode with imagescript.
 */
export async function buildImageDecoder(
  dir: string,
  opts: { force?: boolean; log?: (line: string) => void } = {},
): Promise<ImageDecoderInfo> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const lib = `${dir}${IMAGE_LIB}`;
  const stamp = `${lib}.key`;
  const drop = (reason: string): ImageDecoderInfo => {
    for (const p of [lib, stamp]) if (exists(p)) Deno.removeSync(p);
    return { built: false, reason };
  };
  if (Deno.env.get("BYOL_NO_IMAGE_DECODER") === "1") {
    return drop("left out (BYOL_NO_IMAGE_DECODER=1)");
  }
  const cc = Deno.env.get("CC") ?? "gcc";
  // pkg-config's include folders where it knows the libraries (Debian needs none).
  const pc = await run("pkg-config", ["--cflags-only-I", "libjpeg", "libpng"]);
  const includes = pc.ok ? pc.stdout.trim().split(/\s+/).filter((f) => f.startsWith("-I")) : [];
  Deno.mkdirSync(dir, { recursive: true });
  const found = await probeImageLibs(cc, includes, dir);
  if ("reason" in found) {
    log(`  no native image decoder: ${found.reason}`);
    return drop(found.reason);
  }
  const src = `${IMAGE_DIR}decode_image.c`;
  const flags = [
    "-std=c11",
    "-O3",
    // The resize's double-precision coefficients must round as resize.ts's do: no FMA contraction.
    "-ffp-contract=off",
    "-fPIC",
    "-Wall",
    "-shared",
    ...includes,
  ];
  const libs = ["-ljpeg", "-lpng", "-lm"];
  const ccVersion = (await run(cc, ["--version"])).stdout.split("\n")[0];
  const texts = [...Deno.readDirSync(IMAGE_DIR)]
    .filter((e) => e.isFile && /\.[ch]$/.test(e.name))
    .map((e) => e.name)
    .sort()
    .map((n) => `${n}\n${Deno.readTextFileSync(IMAGE_DIR + n)}`);
  const key = await sha256(
    [...texts, flags.join(" "), libs.join(" "), ccVersion, found.libjpeg, found.libpng].join("\n"),
  );
  const info: ImageDecoderInfo = { built: true, ...found, key };
  if (!opts.force && exists(lib) && exists(stamp) && Deno.readTextFileSync(stamp) === key) {
    return info;
  }
  const t0 = performance.now();
  const tmp = `${lib}.tmp-${Deno.pid}`;
  const r = await run(cc, [...flags, src, "-o", tmp, ...libs]);
  if (!r.ok) {
    if (exists(tmp)) Deno.removeSync(tmp);
    const first = r.out.split("\n").find((l) => /error/.test(l))?.trim() ?? r.out.trim();
    const reason = `compiling native/image/decode_image.c failed (${first.slice(0, 300)})`;
    log(`  no native image decoder: ${reason}`);
    return drop(reason);
  }
  Deno.renameSync(tmp, lib);
  Deno.writeTextFileSync(stamp, key);
  log(
    `  built ${lib} (${found.libjpeg} + libpng ${found.libpng}) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  return info;
}

/**
 * Builds the shim unless it is up to date. Returns the build info.
 * `outDir` is the build folder (default: BYOL_BUILD_DIR, else build/);
 * `log` receives progress lines (default: stderr).
 */
export async function buildNative(
  opts: {
    force?: boolean;
    outDir?: string;
    log?: (line: string) => void;
    /** Leave Gloo out (also BYOL_NO_GLOO=1); a string says why. */
    noGloo?: boolean | string;
  } = {},
): Promise<BuildInfo> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const dir = withSlash(opts.outDir ?? BUILD_DIR);
  const libPath = `${dir}libtt.so`;
  const torch = await findLibtorch();
  const found = findGloo(
    torch,
    typeof opts.noGloo === "string"
      ? opts.noGloo
      : opts.noGloo === true || Deno.env.get("BYOL_NO_GLOO") === "1"
      ? "Gloo left out (BYOL_NO_GLOO=1 or --no-gloo)"
      : false,
  );
  const gloo = isGloo(found) ? found : null;
  const nccl = withNccl(torch);
  const graphs = cudaGraphsSupport(torch);
  const src = sources();
  const ownFlagUnits = src.cpp.filter((n) => isDist(n) || n === CUDA_GRAPH_UNIT);
  const flags = [
    ...compileFlags(torch),
    ...ownFlagUnits.flatMap((n) => ["|", n, ...unitFlags(n, torch, gloo)]),
    "|",
    ...linkFlags(torch, gloo),
  ];
  const texts = src.all.map((n) => `${n}\n${Deno.readTextFileSync(NATIVE + n)}`);
  const key = await sha256(
    // `found` too: a build without Gloo records why (build-info's noGlooReason).
    [...texts, flags.join(" "), libtorchStamp(torch), JSON.stringify(torch), JSON.stringify(found)]
      .join("\n"),
  );
  const prev = readBuildInfo(dir);
  const imageDecoder = await buildImageDecoder(dir, { force: opts.force, log });
  if (!opts.force && prev?.key === key && exists(libPath)) {
    if (JSON.stringify(prev.imageDecoder) === JSON.stringify(imageDecoder)) return prev;
    const info = { ...prev, imageDecoder };
    Deno.writeTextFileSync(`${dir}build-info.json`, JSON.stringify(info, null, 2) + "\n");
    return info;
  }

  const gxx = Deno.env.get("CXX") ?? "g++";
  if (!(await run(gxx, ["--version"])).ok) {
    throw new BuildError(
      `no C++ compiler (${gxx}) found. Install one: sudo apt-get install g++ (or set CXX)`,
    );
  }
  log(
    `building the libtorch shim against libtorch ${torch.version} (${torch.source}` +
      `${torch.cuda ? `, CUDA ${torch.cudaVersion ?? ""}`.trimEnd() : ", CPU"}, ${torch.cxxStd}` +
      `${gloo ? `, Gloo (${gloo.source} headers)` : ", no Gloo"}${nccl ? ", NCCL" : ""}` +
      `${graphs.ok ? ", CUDA graphs" : ""}` +
      `${torch.referencePython ? `, reference ${torch.referencePython}` : ""}) into ${dir} ...`,
  );
  if (!gloo) log(`  without Gloo: ${(found as { reason: string }).reason}`);
  if (!graphs.ok && torch.cuda) log(`  without CUDA graphs: ${graphs.reason}`);
  const objDir = `${dir}obj/`;
  Deno.mkdirSync(objDir, { recursive: true });
  const headers = texts.filter((_, i) => src.all[i].endsWith(".h")).join("\n");
  const cflags = compileFlags(torch);
  // Compile translation units in parallel; each object is reused while its
  // source, the headers and the flags are unchanged.
  let glooCompileError = null as string | null;
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
    if (!r.ok && name === "dist_gloo.cpp" && gloo) {
      // Gloo's headers do not fit this libtorch's ProcessGroupGloo.hpp: build without Gloo.
      glooCompileError = r.out;
      return;
    }
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
  if (glooCompileError !== null) {
    const first = glooCompileError.split("\n").find((l: string) => /error/.test(l)) ?? "";
    const why = `native/dist_gloo.cpp does not compile against the Gloo headers of ` +
      `${gloo!.includeDir} (${first.trim().slice(0, 200)}); GLOO_INCLUDE=/dir with the Gloo ` +
      `headers of the commit libtorch ${torch.version} pins is the fix`;
    log(`  ${why}: building without Gloo`);
    return await buildNative({ ...opts, noGloo: why });
  }
  if (gloo) {
    // The Gloo unit must not depend on the layout of the Gloo it was compiled against.
    const nm = await run("nm", ["-C", `${objDir}dist_gloo.o`]);
    const problems = nm.ok ? glooObjectProblems(nm.stdout) : [`nm failed: ${nm.out.trim()}`];
    if (problems.length > 0) {
      const why = `dist_gloo.o uses Gloo's own code (${problems.slice(0, 3).join("; ")}), so it ` +
        `would depend on the Gloo headers of ${gloo.includeDir} matching libtorch's Gloo ` +
        "(report this; GLOO_INCLUDE=/dir with the Gloo commit your libtorch pins is the fix)";
      log(`  ${why}: building without Gloo`);
      return await buildNative({ ...opts, noGloo: why });
    }
  }
  const objs = src.cpp.map((n) => `${objDir}${n.replace(/\.cpp$/, ".o")}`);
  const tmp = `${libPath}.tmp-${Deno.pid}`;
  const r = await run(gxx, [...objs, "-o", tmp, ...linkFlags(torch, gloo)]);
  if (!r.ok) throw new BuildError(`linking the shim failed:\n${r.out}`);
  Deno.renameSync(tmp, libPath);
  const info: BuildInfo = {
    torchVersion: torch.version,
    cudaGraphs: graphs.ok,
    ...(graphs.ok ? {} : { noCudaGraphsReason: graphs.reason }),
    cuda: torch.cuda,
    cudaVersion: torch.cudaVersion,
    cxxStd: torch.cxxStd,
    referencePython: torch.referencePython,
    nccl: torch.nccl,
    libtorch: torch,
    distributed: gloo
      ? { gloo: true, glooInclude: gloo.includeDir, glooSource: gloo.source, nccl }
      : { gloo: false, nccl, noGlooReason: (found as { reason: string }).reason },
    imageDecoder,
    key,
    builtAt: new Date().toISOString(),
  };
  Deno.writeTextFileSync(`${dir}build-info.json`, JSON.stringify(info, null, 2) + "\n");
  log(`built ${libPath}`);
  return info;
}

const USAGE = "usage: deno task build [--force] [--quiet] [--no-gloo] [--out DIR]";

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
  const unknown = args.filter((a) => !["--force", "--quiet", "--no-gloo"].includes(a));
  if (unknown.length > 0) {
    console.error(`error: unknown argument ${unknown[0]}\n${USAGE}`);
    Deno.exit(2);
  }
  const force = args.includes("--force");
  const quiet = args.includes("--quiet");
  try {
    const info = await buildNative({
      force,
      outDir,
      log: quiet ? () => {} : undefined,
      noGloo: args.includes("--no-gloo"),
    });
    if (!quiet) {
      console.error(
        `shim up to date: libtorch ${info.torchVersion}` +
          `${info.cuda ? ` with CUDA ${info.cudaVersion ?? ""}`.trimEnd() : " (CPU)"}, ` +
          `${info.cxxStd}, ${info.distributed?.gloo ? "with Gloo" : "without Gloo"}` +
          `${
            info.distributed?.nccl ? (info.distributed?.gloo ? " and NCCL" : ", with NCCL") : ""
          }, ${info.cudaGraphs ? "with CUDA graphs" : "without CUDA graphs"}, ` +
          `reference Python ${info.referencePython ?? "none (set PYTHON)"}`,
      );
      const img = info.imageDecoder;
      console.error(
        img?.built
          ? `image decoder: ${img.libjpeg} + libpng ${img.libpng} (libttimage.so)`
          : `no native image decoder (images decode with imagescript): ${
            img?.reason ?? "not built"
          }`,
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
