// The Python that reads TensorBoard event files for the tests (tests/io/tfevents_test.ts): the
// first of these that can `import tensorboard`:
//   1. BYOL_TENSORBOARD_PYTHON;
//   2. the reference python (tests/helpers/python.ts's PYTHON: build-info's referencePython);
//   3. the pip venv of .ci/run's second line (BYOL_TORCH2_VENV, else
//      ${XDG_CACHE_HOME:-~/.cache}/byol-deno/venv-torch-2.14.1), which .ci/run gives tensorboard;
//   4. python3 on the PATH.
// Debian's /usr/bin/python3 normally lacks tensorboard, so on CI's first line the venv's python
// is the one found. With none, the tests that need it are ignored and say why.
import { PY_DIR, PYTHON } from "./python.ts";

const TORCH2 = "2.14.1";

function env(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}

/** The candidates in order, without repeats. */
export function tensorboardPythonCandidates(): string[] {
  const cache = env("XDG_CACHE_HOME") ?? `${env("HOME") ?? ""}/.cache`;
  const venv = env("BYOL_TORCH2_VENV") ?? `${cache}/byol-deno/venv-torch-${TORCH2}`;
  const all = [env("BYOL_TENSORBOARD_PYTHON"), PYTHON, `${venv}/bin/python`, "python3"];
  return [...new Set(all.filter((p): p is string => p !== undefined))];
}

async function importsTensorboard(python: string): Promise<string | null> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import tensorboard; print(tensorboard.__version__)"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null; // not there
  }
}

export type TensorboardPython =
  | { python: string; version: string; reason?: undefined }
  | { python?: undefined; version?: undefined; reason: string };

/** The first candidate that imports tensorboard, or why there is none. */
export async function findTensorboardPython(): Promise<TensorboardPython> {
  const tried = tensorboardPythonCandidates();
  for (const python of tried) {
    const version = await importsTensorboard(python);
    if (version !== null) return { python, version };
  }
  return {
    reason: `no python with tensorboard (tried ${tried.join(", ")}); set ` +
      "BYOL_TENSORBOARD_PYTHON, or `pip install tensorboard` into one of them",
  };
}

/** Runs `code` with `python`, `args` as sys.argv[1:], and parses its stdout's last line as JSON. */
export async function runPythonJson<T = unknown>(
  python: string,
  code: string,
  args: string[] = [],
): Promise<T> {
  const out = await new Deno.Command(python, {
    args: ["-c", code, ...args],
    env: { PYTHONPATH: PY_DIR, TF_CPP_MIN_LOG_LEVEL: "3" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  if (!out.success) {
    throw new Error(`${python} failed:\n${dec.decode(out.stderr)}\n${stdout}`);
  }
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}
