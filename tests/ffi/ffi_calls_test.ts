// ffiCalls() counts every call into the shim, failed calls too, and not
// itself; a step of a capturable optimizer is one call per group and setLr one
// call. Counted in a child process (_ffi_calls_child.ts): the count is
// process-wide and `deno test --parallel` shares this process with other files.
import { assertEquals } from "../helpers/asserts.ts";

Deno.test("ffiCalls changes by exactly the number of shim calls of known sequences", async () => {
  const child = new URL("./_ffi_calls_child.ts", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  assertEquals(r.code, 0, stderr);
  const lines = new TextDecoder().decode(r.stdout).trim().split("\n");
  const got = JSON.parse(lines[lines.length - 1]);
  const optimizers: Record<string, number> = {};
  for (const kind of ["SGD", "AdamW", "LARS"]) {
    for (const mode of ["", " capturable"]) {
      optimizers[`${kind}${mode} step`] = 2;
      optimizers[`${kind}${mode} second step`] = 2;
      // Plain: no call (the lr is a host number); capturable: both groups' lr tensors in one.
      optimizers[`${kind}${mode} setLr`] = mode ? 1 : 0;
    }
  }
  assertEquals(got, {
    "nothing": 0,
    "ffiCalls": 0,
    "five list calls": 5,
    "failed call": 1,
    ...optimizers,
  });
});
