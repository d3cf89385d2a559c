// The set-up every task runs first: checks for what the task needs (libtorch,
// OpenBLAS, a C++ compiler, Fashion-MNIST, and for tests the PyTorch
// reference), installs the missing Debian packages when apt-get can be used
// (root, or sudo without a password), else stops with the exact command; then
// builds the shim when it is stale. Optional packages (libjpeg's and libpng's
// headers, for the native image decoder) are installed the same way, but
// without apt-get their absence is a note, not a stop.
// Usage: deno run -A scripts/setup.ts --for=build|train|test
// BYOL_SKIP_SETUP=1 skips the package checks (the shim is still built).
import {
  BuildError,
  type BuildInfo,
  buildNative,
  exists,
  findLibtorch,
  IMAGE_PACKAGES,
} from "./build_native.ts";

type Purpose = "build" | "train" | "test";

interface Need {
  what: string;
  why: string;
  packages: string[];
  present: () => boolean | Promise<boolean>;
  /** Setup goes on without it (saying what it costs) when apt-get cannot install it. */
  optional?: boolean;
}

async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return r.success;
  } catch {
    return false;
  }
}

const MULTIARCH = "/usr/lib/x86_64-linux-gnu";
const usesOwnLibtorch = () =>
  Boolean(Deno.env.get("LIBTORCH")) || Deno.env.get("LIBTORCH_USE_PYTORCH") === "1";

/** Whether an NVIDIA GPU is visible (the driver lists one), without starting CUDA. */
export function gpuVisible(): boolean {
  try {
    if ([...Deno.readDirSync("/proc/driver/nvidia/gpus")].length > 0) return true;
  } catch {
    // no NVIDIA driver loaded
  }
  return exists("/dev/nvidia0");
}

/** The CUDA version of `python`'s torch ("" for a CPU torch), or null when it has no torch. */
async function torchCuda(python: string): Promise<string | null> {
  try {
    const r = await new Deno.Command(python, {
      args: ["-c", "import torch; print('BYOL_TORCH_CUDA', torch.version.cuda or '')"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!r.success) return null;
    const line = new TextDecoder().decode(r.stdout).split("\n").find((l) =>
      l.startsWith("BYOL_TORCH_CUDA")
    );
    return line === undefined ? null : line.slice("BYOL_TORCH_CUDA".length).trim();
  } catch {
    return null;
  }
}

export interface LibtorchChoice {
  /** Environment to set for the build: LIBTORCH_USE_PYTORCH=1 and PYTHON, or nothing. */
  env: Record<string, string>;
  /** What setup says about the choice (null: nothing to say). */
  note: string | null;
}

/**
 * Which libtorch to build against when none is named (no LIBTORCH, no
 * LIBTORCH_USE_PYTORCH): on a machine where a GPU is visible and a Python
 * (PYTHON, else python3, else python) has a CUDA torch, that torch, so the
 * README's `deno task train` trains on the GPU; else the system's (Debian's
 * libtorch-dev). BYOL_LIBTORCH=system keeps the system's. Pure but for the
 * injected probes.
 */
export async function chooseLibtorch(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  probes: { gpu: () => boolean; cudaOf: (python: string) => Promise<string | null> } = {
    gpu: gpuVisible,
    cudaOf: torchCuda,
  },
): Promise<LibtorchChoice> {
  const none = { env: {}, note: null };
  if (env("LIBTORCH") || env("LIBTORCH_USE_PYTORCH") === "1") return none;
  if (env("BYOL_LIBTORCH") === "system" || !probes.gpu()) return none;
  const candidates = [...new Set([env("PYTHON"), "python3", "python"].filter((p) => p))];
  for (const py of candidates as string[]) {
    const cudaVersion = await probes.cudaOf(py);
    if (cudaVersion) {
      return {
        env: { LIBTORCH_USE_PYTORCH: "1", PYTHON: py },
        note: `setup: a GPU is visible and ${py} has PyTorch with CUDA ${cudaVersion}: building ` +
          `the shim against it (as LIBTORCH_USE_PYTORCH=1 PYTHON=${py}; BYOL_LIBTORCH=system ` +
          "builds against the system's libtorch instead)",
      };
    }
  }
  return {
    env: {},
    note: "setup: a GPU is visible but no Python here has PyTorch with CUDA " +
      `(tried ${candidates.join(", ")}); building against the system's libtorch (CPU). For the ` +
      "GPU: pip install torch (a CUDA build) and rerun, or set PYTHON=/path/to/python",
  };
}

// The tests' PyTorch reference is the Python of the libtorch under test
// (ffi/shim_path.ts referencePython). Before the build it is known only for
// Debian's libtorch (/usr/bin/python3, from apt) or when BYOL_PYTHON names it.
const DEBIAN_PYTHON = "/usr/bin/python3";
const referenceKnownEarly = () => Boolean(Deno.env.get("BYOL_PYTHON")) || !usesOwnLibtorch();
export const PYTHON = Deno.env.get("BYOL_PYTHON") ?? DEBIAN_PYTHON;

function needs(purpose: Purpose): Need[] {
  const list: Need[] = [
    {
      what: "libtorch",
      why: "the tensor library the shim wraps",
      packages: ["libtorch-dev"],
      present: () => usesOwnLibtorch() || exists("/usr/include/ATen/ATen.h"),
    },
    {
      what: "OpenBLAS",
      why: "Debian's libtorch calls the system BLAS; the default reference BLAS is ~30x slower",
      packages: ["libopenblas0-openmp"],
      present: () =>
        usesOwnLibtorch() || exists(`${MULTIARCH}/openblas-openmp/libblas.so.3`) ||
        exists(`${MULTIARCH}/openblas-pthread/libblas.so.3`),
    },
    {
      what: "Gloo's headers",
      why: "the shim's c10d process groups (src/distributed) link the Gloo libtorch links",
      packages: ["libgloo-dev"],
      present: () =>
        usesOwnLibtorch() || Boolean(Deno.env.get("GLOO_INCLUDE")) ||
        exists("/usr/include/gloo/algorithm.h"),
    },
    {
      what: "a C++ compiler",
      why: "to build the shim (native/)",
      packages: ["g++"],
      present: () => succeeds(Deno.env.get("CXX") ?? "g++", ["--version"]),
    },
    {
      what: "libjpeg's and libpng's headers",
      why: "the native image decoder (native/image/); without it image folders decode with " +
        "imagescript, ~7x slower",
      packages: IMAGE_PACKAGES,
      present: () =>
        Deno.env.get("BYOL_NO_IMAGE_DECODER") === "1" ||
        (exists("/usr/include/jpeglib.h") && exists("/usr/include/png.h")),
      optional: true,
    },
  ];
  if (purpose !== "build") {
    list.push({
      what: "Fashion-MNIST",
      why: "the default training data",
      packages: ["dataset-fashion-mnist"],
      present: () =>
        Boolean(Deno.env.get("FASHION_MNIST_DIR")) ||
        exists("/usr/share/datasets/fashion-mnist"),
    });
  }
  if (purpose === "test" && referenceKnownEarly()) {
    list.push({
      what: "the PyTorch reference",
      why: "tests compare every op with PyTorch on the same libtorch",
      packages: ["python3-torch", "python3-torchvision"],
      present: () => succeeds(PYTHON, ["-c", "import torch, torchvision"]),
    });
  }
  return list;
}

async function canUseApt(): Promise<"root" | "sudo" | null> {
  if (!(await succeeds("apt-get", ["--version"]))) return null;
  if (Deno.uid() === 0) return "root";
  if (await succeeds("sudo", ["-n", "true"])) return "sudo";
  return null;
}

async function apt(how: "root" | "sudo", args: string[]): Promise<boolean> {
  const cmd = how === "root" ? "apt-get" : "sudo";
  const full = how === "root" ? args : ["apt-get", ...args];
  const r = await new Deno.Command(cmd, {
    args: full,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return r.success;
}

/** Warns when libblas.so.3 resolves to the slow reference BLAS. */
export function blasWarning(): string | null {
  if (usesOwnLibtorch()) return null;
  let real: string;
  try {
    real = Deno.realPathSync(`${MULTIARCH}/libblas.so.3`);
  } catch {
    return null;
  }
  if (/openblas|blis|mkl/.test(real)) return null;
  return `warning: libblas.so.3 is ${real}, the reference BLAS: matrix products run ~30x ` +
    "slower. Install OpenBLAS: sudo apt-get install libopenblas0-openmp";
}

/**
 * With one's own libtorch the reference is that libtorch's Python (from
 * build-info): it needs torch and torchvision, which apt cannot give it.
 */
async function checkReference(info: BuildInfo): Promise<void> {
  const py = info.referencePython ?? DEBIAN_PYTHON;
  if (info.referencePython === null) {
    console.error(
      `warning: libtorch ${info.torchVersion} has no Python of its own; the tests compare ` +
        `against ${py}'s torch. Build with PYTHON=/path/to/python (same torch) to compare like with like.`,
    );
  }
  if (await succeeds(py, ["-c", "import torch, torchvision"])) return;
  const hint = info.referencePython === null
    ? "this libtorch has no Python of its own: set PYTHON=/path/to/python (one whose torch is " +
      `${info.torchVersion}) when building, or BYOL_PYTHON for the tests`
    : `install the torchvision that matches torch ${info.torchVersion} there ` +
      `(${py} -m pip install torchvision==...)`;
  throw new BuildError(
    `the tests compare against PyTorch in ${py}, which cannot import torch and torchvision: ${hint}`,
  );
}

export async function setup(purpose: Purpose): Promise<void> {
  const choice = await chooseLibtorch();
  if (choice.note) console.error(choice.note);
  for (const [k, v] of Object.entries(choice.env)) Deno.env.set(k, v);
  if (Deno.env.get("BYOL_SKIP_SETUP") !== "1") {
    const missing: Need[] = [];
    for (const n of needs(purpose)) if (!(await n.present())) missing.push(n);
    if (missing.length > 0) {
      const pkgs = [...new Set(missing.flatMap((n) => n.packages))];
      const how = await canUseApt();
      const command = `sudo apt-get update && sudo apt-get install -y ${pkgs.join(" ")}`;
      const required = missing.filter((n) => !n.optional);
      if (how === null) {
        if (required.length > 0) {
          console.error("missing: " + missing.map((n) => `${n.what} (${n.why})`).join("; "));
          console.error(`install it with:\n  ${command}`);
          Deno.exit(1);
        }
        for (const n of missing) {
          console.error(
            `setup: optional ${n.what} missing (${n.why}); install with: ` +
              `sudo apt-get install -y ${n.packages.join(" ")}`,
          );
        }
      } else {
        for (const n of missing) {
          console.error(`setup: installing ${n.packages.join(" ")}: ${n.what}, ${n.why}`);
        }
        const ok = (await apt(how, ["update", "-q"])) &&
          (await apt(how, ["install", "-y", "-q", ...pkgs]));
        if (!ok && required.length > 0) {
          console.error(`setup: apt-get failed; run it yourself:\n  ${command}`);
          Deno.exit(1);
        }
        if (!ok) {
          console.error(`setup: apt-get failed for optional packages; going on without them`);
        }
      }
    }
    const warn = blasWarning();
    if (warn) console.error(warn);
  }
  try {
    await findLibtorch();
    const info = await buildNative();
    if (purpose === "test" && !referenceKnownEarly()) await checkReference(info);
  } catch (e) {
    if (e instanceof BuildError) {
      console.error(`error: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}

if (import.meta.main) {
  const arg = Deno.args.find((a) => a.startsWith("--for="))?.slice(6) ?? "build";
  if (!["build", "train", "test"].includes(arg)) {
    console.error(`error: --for must be build, train or test (got "${arg}")`);
    Deno.exit(2);
  }
  await setup(arg as Purpose);
}
