// Runs the PyTorch reference (`/usr/bin/python3` with python3-torch) for tests.
// Override with BYOL_PYTHON. Tests that need it call `python()`; the setup step
// (`deno task test`) installs python3-torch and python3-torchvision first.

export const PYTHON = Deno.env.get("BYOL_PYTHON") ?? "/usr/bin/python3";

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
