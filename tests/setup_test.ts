// Which libtorch `deno task ...` builds against when none is named: a visible
// GPU and a Python with a CUDA torch make it that torch (the README's two
// commands then train and test on the GPU); anything named, BYOL_LIBTORCH=system,
// no GPU, or no CUDA torch keep the system's. The probes are injected.
import { assert, assertEquals } from "./helpers/asserts.ts";
import { chooseLibtorch } from "../scripts/setup.ts";

const envOf = (vars: Record<string, string | undefined>) => (n: string) => vars[n];
const probes = (gpu: boolean, torch: Record<string, string | null>) => {
  const asked: string[] = [];
  return {
    asked,
    gpu: () => gpu,
    cudaOf: (py: string) => {
      asked.push(py);
      return Promise.resolve(torch[py] ?? null);
    },
  };
};

Deno.test("chooseLibtorch: a GPU and a CUDA torch in python3 build against it, and setup says so", async () => {
  const p = probes(true, { python3: "13.0" });
  const c = await chooseLibtorch(envOf({}), p);
  assertEquals(c.env, { LIBTORCH_USE_PYTORCH: "1", PYTHON: "python3" });
  assert(/GPU is visible and python3 has PyTorch with CUDA 13\.0/.test(c.note ?? ""), c.note!);
  // PYTHON is asked first; a CPU torch ("") is passed over.
  const q = probes(true, { "/venv/bin/python": "", python3: null, python: "12.8" });
  const d = await chooseLibtorch(envOf({ PYTHON: "/venv/bin/python" }), q);
  assertEquals(q.asked, ["/venv/bin/python", "python3", "python"]);
  assertEquals(d.env.PYTHON, "python");
});

Deno.test("chooseLibtorch: a named libtorch, BYOL_LIBTORCH=system or no GPU keep the system's, asking no Python", async () => {
  for (
    const vars of [{ LIBTORCH: "/opt/libtorch" }, { LIBTORCH_USE_PYTORCH: "1" }, {
      BYOL_LIBTORCH: "system",
    }]
  ) {
    const p = probes(true, { python3: "13.0" });
    assertEquals(await chooseLibtorch(envOf(vars), p), { env: {}, note: null });
    assertEquals(p.asked, []);
  }
  const p = probes(false, { python3: "13.0" });
  assertEquals(await chooseLibtorch(envOf({}), p), { env: {}, note: null });
  assertEquals(p.asked, []);
});

Deno.test("chooseLibtorch: a GPU without a CUDA torch builds the system's and says how to get the GPU", async () => {
  const c = await chooseLibtorch(envOf({}), probes(true, { python3: "" }));
  assertEquals(c.env, {});
  assert(
    /no Python here has PyTorch with CUDA/.test(c.note ?? "") && /pip install torch/.test(c.note!),
  );
});
