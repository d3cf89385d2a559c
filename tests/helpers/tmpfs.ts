// A small tmpfs of a test's own, to fill a disk on purpose (root on Linux
// only: tests that need it are ignored elsewhere, saying so).

export async function mountTmpfs(dir: string, opts: string): Promise<boolean> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", opts, "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  return out?.success ?? false;
}

export async function umount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir], stdout: "null", stderr: "null" }).output();
}

/** Whether this process may mount a tmpfs (tried once, on a temporary folder). */
export const canMount: boolean = await (async () => {
  if (Deno.build.os !== "linux" || Deno.uid?.() !== 0) return false;
  const d = await Deno.makeTempDir();
  const ok = await mountTmpfs(d, "size=64k");
  if (ok) await umount(d);
  await Deno.remove(d);
  return ok;
})();
