// Where the shim and its build-info live, without opening the library (so
// build scripts, the test helpers and the bench can ask too).
//   BYOL_BUILD_DIR=DIR: the build folder (default: build/ in the repository;
//     a relative DIR is taken from the repository folder, so it names the same
//     folder from a script anywhere); `deno task build` writes DIR/libtt.so and
//     DIR/build-info.json there, and the shim is loaded from there.
//   TORCH_SHIM_PATH=/path/libtt.so: load this shim (its build-info.json, when
//     one lies next to it, says which libtorch and reference Python it has).

const REPO_DIR = decodeURIComponent(new URL("../", import.meta.url).pathname);
const REPO_BUILD_DIR = `${REPO_DIR}build/`;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env for it: the default applies
  }
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

/** The build folder, with a trailing slash: BYOL_BUILD_DIR, else build/. */
export function buildDir(): string {
  const d = env("BYOL_BUILD_DIR");
  if (d === undefined) return REPO_BUILD_DIR;
  return (d.startsWith("/") ? d : `${REPO_DIR}${d}`).replace(/\/*$/, "/");
}

/** The path the shim is loaded from: TORCH_SHIM_PATH, else the build folder's libtt.so. */
export function shimPath(): string {
  const p = env("TORCH_SHIM_PATH");
  return p === undefined ? `${buildDir()}libtt.so` : absolute(p);
}

/** The build-info.json that describes the shim at `shimPath()`. */
export function shimInfoPath(): string {
  return shimPath().replace(/[^/]*$/, "build-info.json");
}

/** What tests and the bench need from build-info.json (written by scripts/build_native.ts). */
export interface ShimInfo {
  torchVersion: string;
  cuda: boolean;
  cxxStd?: string;
  /** The Python whose torch is this libtorch (null: none known, e.g. a bare libtorch zip). */
  referencePython?: string | null;
  /** native/cuda_graph.cpp was compiled with CUDA graphs (absent in older build-infos). */
  cudaGraphs?: boolean;
  noCudaGraphsReason?: string;
  /** Which process-group backends native/dist_*.cpp were compiled with (older build-infos have no nccl). */
  distributed?: { gloo: boolean; nccl?: boolean; glooInclude?: string };
}

/** The build-info of the shim that is loaded, or null when there is none. */
export function readShimInfo(): ShimInfo | null {
  try {
    return JSON.parse(Deno.readTextFileSync(shimInfoPath()));
  } catch {
    return null;
  }
}

/**
 * The PyTorch reference for tests and benchmarks: BYOL_PYTHON, else the
 * shim's own libtorch's Python (build-info's referencePython), else
 * /usr/bin/python3 (Debian's python3-torch).
 */
export function referencePython(): string {
  return env("BYOL_PYTHON") ?? readShimInfo()?.referencePython ?? "/usr/bin/python3";
}
