// The recipe sweep of docs/TRAINING.md: each row is a `deno task train` run on
// the validation split (--val-size 10000: the last 10,000 training images are
// scored, never the test split). Rows run as separate processes, `--jobs` at
// a time; each row's eval.json, wall time and speed are appended to a JSON
// Lines file, and the table so far is printed at the end.
// Usage: deno run -A bench/sweep.ts --out runs/sweep [--jobs 2] [--threads 1] NAME='--flag v ...' ...
import { Command } from "../deps/commander.ts";
import { join } from "node:path";

const REPO = new URL("../", import.meta.url).pathname;

const program = new Command()
  .name("bench/sweep.ts")
  .requiredOption("--out <dir>", "folder for the runs and results.jsonl")
  .option("--jobs <n>", "rows at a time", "1")
  .option("--threads <n>", "threads per row", "1")
  .argument("<rows...>", "NAME='flags' per row (flags over the fashion-mnist preset)");
program.parse(["deno", "sweep", ...Deno.args]);
const o = program.opts();
const rows = program.args.map((a) => {
  const i = a.indexOf("=");
  if (i <= 0) throw new Error(`row "${a}" is not NAME='--flag value ...'`);
  return { name: a.slice(0, i), flags: a.slice(i + 1).split(/\s+/).filter((s) => s !== "") };
});
await Deno.mkdir(o.out, { recursive: true });
const results = join(o.out, "results.jsonl");
const cpu = new TextDecoder().decode(
  (await new Deno.Command("lscpu", { stdout: "piped" }).output()).stdout,
).match(/Model name:\s*(.+)/)?.[1] ?? "unknown";

async function runRow(row: { name: string; flags: string[] }): Promise<void> {
  const dir = join(o.out, row.name);
  const args = [
    "run",
    "-A",
    join(REPO, "scripts/train.ts"),
    "--val-size",
    "10000",
    "--threads",
    o.threads,
    "--out",
    dir,
    ...row.flags,
  ];
  const t0 = performance.now();
  const log = await Deno.open(`${dir}.log`, { write: true, create: true, truncate: true });
  const p = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  await Promise.all([
    p.stdout.pipeTo(log.writable, { preventClose: true }),
    p.stderr.pipeTo(log.writable, { preventClose: true }),
  ]).catch(() => {});
  const st = await p.status;
  log.close();
  const seconds = (performance.now() - t0) / 1000;
  let ev: Record<string, unknown> | null = null;
  let config: Record<string, unknown> | null = null;
  try {
    ev = JSON.parse(await Deno.readTextFile(join(dir, "eval.json")));
    config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
  } catch { /* a failed row: recorded with its exit code */ }
  const rec = {
    name: row.name,
    flags: row.flags.join(" "),
    code: st.code,
    seconds: Math.round(seconds),
    cpu,
    load: Deno.loadavg()[0],
    split: ev?.split,
    trained: ev?.trained,
    randomInit: ev?.randomInit,
    precision: config?.precision,
  };
  await Deno.writeTextFile(results, JSON.stringify(rec) + "\n", { append: true });
  const t = rec.trained as Record<string, number> | undefined;
  console.log(
    `${row.name}: exit ${st.code}, ${rec.seconds} s` +
      (t ? `, kNN-20 ${t.knn20.toFixed(2)}, probe ${t.probeTop1.toFixed(2)}` : ""),
  );
}

const queue = [...rows];
await Promise.all(
  Array.from({ length: Math.max(1, Number(o.jobs)) }, async () => {
    for (let r = queue.shift(); r !== undefined; r = queue.shift()) await runRow(r);
  }),
);
