// Runs the PyTorch reference for tests: the Python whose torch is the libtorch
// under test (build-info.json's referencePython next to the loaded shim:
// /usr/bin/python3 with python3-torch for Debian's libtorch, the venv's python
// for LIBTORCH_USE_PYTORCH=1), so every value test compares like with like.
// BYOL_PYTHON overrides. Tests that need it call `python()`; the setup step
// (`deno task test`) installs python3-torch and python3-torchvision first.
import { referencePython } from "../../ffi/shim_path.ts";

export const PYTHON = referencePython();

/** Directory holding the Python helper modules (tests/py), put on PYTHONPATH. */
export const PY_DIR = new URL("../py/", import.meta.url).pathname;

/**
 * Runs `code` with the reference Python, `args` as sys.argv[1:], and returns
 * stdout. Throws with stderr when the script fails.
 */
export async function python(code: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", code, ...args],
    env: { PYTHONPATH: PY_DIR, OMP_NUM_THREADS: "2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new Error(`reference python failed (${PYTHON}):\n${stderr}\n${stdout}`);
  }
  return stdout;
}

/** Runs `code` and parses its stdout as JSON. */
export async function pythonJson<T = unknown>(code: string, args: string[] = []): Promise<T> {
  return JSON.parse(await python(code, args)) as T;
}
