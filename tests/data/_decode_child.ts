// A decodeToCache run in its own process, for decode_to_cache_test.ts (a
// decode killed midway, two processes on one key). Run as
//   deno run -A _decode_child.ts '{"root": ..., "dir": ..., ...}'
// It prints one line per progress message, then "RESULT <stats JSON>".
import { join } from "node:path";
import type { DecodeSpec } from "../../src/data/decode.ts";
import { decodeToCache } from "../../src/data/decode_to_cache.ts";
import type { DecodePlan } from "../../src/data/load_images.ts";

/** The spec every child decode uses. */
export const CHILD_SPEC: DecodeSpec = { height: 12, width: 10, channels: 3, antialias: true };

/** The plan over every file in `root` (sorted by name), labels i % 3: parent and child agree. */
export async function folderPlan(root: string): Promise<DecodePlan> {
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) if (e.isFile) names.push(e.name);
  names.sort();
  const paths = names.map((n) => join(root, n));
  return {
    kind: "decode_to_cache_test",
    source: root,
    paths,
    labels: Int32Array.from(paths, (_, i) => i % 3),
    classes: ["a", "b", "c"],
    label: (i) => paths[i],
  };
}

/** What the parent passes. */
export interface ChildArgs {
  root: string;
  dir: string;
  workers: number;
  /** Commit every this many files. */
  commitImages: number;
  /** Sleep after each commit, so the parent can act midway. */
  pauseMs: number;
}

if (import.meta.main) {
  const args = JSON.parse(Deno.args[0]) as ChildArgs;
  const enc = new TextEncoder();
  const say = (s: string) => Deno.stdout.writeSync(enc.encode(`${s}\n`));
  const r = await decodeToCache(await folderPlan(args.root), CHILD_SPEC, {
    dir: args.dir,
    workers: args.workers,
    commitEvery: { images: args.commitImages, seconds: 1000 },
    afterCommit: () => new Promise((res) => setTimeout(res, args.pauseMs)),
    onProgress: (p) => {
      if (p.message !== undefined) say(`MESSAGE ${p.message}`);
    },
  });
  say(`RESULT ${JSON.stringify(r.stats)}`);
}
