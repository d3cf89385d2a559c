// The one write-then-rename routine: bytes go to a temp file in the target's
// folder, are fsynced, then renamed over the target, and the folder is fsynced,
// so after a crash a reader sees the old file or the whole new one, never part.
import { basename, dirname, join } from "node:path";

export class AtomicWriteError extends Error {
  constructor(readonly path: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`cannot write ${path}: ${why}; check free space and permissions`, { cause });
    this.name = "AtomicWriteError";
  }
}

function tempName(path: string): string {
  const r = crypto.getRandomValues(new Uint32Array(2));
  return join(
    dirname(path),
    `.${basename(path)}.tmp-${Deno.pid}-${r[0].toString(16)}${r[1].toString(16)}`,
  );
}

/** fsyncs a folder so a rename in it survives a crash (best effort: not every FS allows it). */
export async function syncDir(dir: string): Promise<void> {
  try {
    using d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch { /* the files themselves are complete */ }
}

/** Writes `data` (bytes, text, or parts written in order) to `path` atomically and durably. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string | readonly Uint8Array[],
): Promise<void> {
  const parts = typeof data === "string"
    ? [new TextEncoder().encode(data)]
    : data instanceof Uint8Array
    ? [data]
    : data;
  const tmp = tempName(path);
  try {
    {
      using f = await Deno.open(tmp, { write: true, createNew: true });
      for (const part of parts) {
        for (let off = 0; off < part.length;) off += await f.write(part.subarray(off));
      }
      await f.sync();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new AtomicWriteError(path, e);
  }
  await syncDir(dirname(path));
}

/** The same for a folder: `fill(tmpDir)` writes its files, then the folder appears by rename. */
export async function writeDirAtomic(
  path: string,
  fill: (tmpDir: string) => Promise<void>,
): Promise<void> {
  const tmp = tempName(path);
  try {
    await Deno.mkdir(tmp);
    await fill(tmp);
    await syncDir(tmp);
    await Deno.remove(path, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e instanceof AtomicWriteError ? e : new AtomicWriteError(path, e);
  }
  await syncDir(dirname(path));
}

/** Leftover temp files or folders of writes that a crash interrupted, in `dir`. */
export async function removeStaleTemps(dir: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".") && /\.tmp-\d+-[0-9a-f]+$/.test(e.name)) {
        await Deno.remove(join(dir, e.name), { recursive: true }).catch(() => {});
      }
    }
  } catch { /* no folder: nothing left over */ }
}
