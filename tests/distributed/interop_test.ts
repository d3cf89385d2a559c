// The process group is PyTorch's: a Deno rank and a PyTorch rank (or two Deno
// ranks) in one Gloo group over a loopback TCPStore agree bit for bit on every
// collective; a SIGKILLed peer makes the survivor's next collective fail fast
// with a TorchError. Every rank is a child process with a hard deadline,
// killed in finally. The steps are in rank.ts / rank.py.
import { assert, assertEquals } from "../helpers/asserts.ts";
import { hasGloo } from "../../ffi/distributed.ts";
import { freePort, type Lang, Rank } from "./_ranks.ts";

const ignore = !hasGloo();
const TIMEOUT_MS = 3000;

/** rank.ts's input, as float32. */
function input(r: number, k: number, n = 7): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 0.731 + r * 1.37 + k * 0.113) % 3) - 1.5);
}

function hex(a: Float32Array | BigInt64Array): string {
  return Array.from(new Uint8Array(a.buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function zip(k: number, f: (a: number, b: number) => number): Float32Array {
  const a = input(0, k), b = input(1, k);
  return a.map((x, i) => Math.fround(f(x, b[i])));
}

/** What every rank of a world of 2 must report. */
const EXPECTED: Record<string, string> = {
  sum: hex(zip(0, (a, b) => a + b)),
  max: hex(zip(1, Math.max)),
  min: hex(zip(2, Math.min)),
  avg: hex(zip(3, (a, b) => Math.fround(a + b) / 2)),
  product: hex(zip(4, (a, b) => a * b)),
  int_sum: hex(BigInt64Array.from({ length: 5 }, (_, i) => BigInt(10 + 2 * i))),
  bcast0: hex(input(0, 5)),
  bcast1: hex(input(1, 6)),
  gather0: hex(input(0, 9)),
  gather1: hex(input(1, 9)),
};

const KEYS = [
  ...Object.keys(EXPECTED),
  ...[0, 1, 2, 3, 4].flatMap((j) => [`bucket${j}`, `plain${j}`]),
  "nbuckets",
  "barrier",
];

async function interop(langs: [Lang, Lang]): Promise<void> {
  const port = freePort();
  const ranks = langs.map((l, r) => new Rank(l, "interop", r, 2, port, 10_000));
  try {
    const done = await Promise.all(ranks.map((r) => r.waitFor("done", 60_000)));
    assertEquals(done.length, 2);
    for (const [r, rank] of ranks.entries()) {
      assertEquals(rank.results.get("init")!.value, { rank: r, world: 2 });
      for (const key of KEYS) {
        const a = rank.results.get(key), b = ranks[0].results.get(key);
        assert(a !== undefined, `${rank.lang} rank ${r} did not report ${key}`);
        // Bit for bit: the same bytes (or, for the 300k-element bucket, the same SHA-256).
        assertEquals(a, b, `${key}: rank ${r} (${rank.lang}) vs rank 0 (${ranks[0].lang})`);
        if (key in EXPECTED) assertEquals(a.hex, EXPECTED[key], `${key} on rank ${r}`);
      }
      // The bucketed average equals the per-tensor all-reduce average.
      for (let j = 0; j < 5; j++) {
        const bucket = rank.results.get(`bucket${j}`)!, plain = rank.results.get(`plain${j}`)!;
        assertEquals(bucket.hex ?? bucket.sha256, plain.hex ?? plain.sha256, `bucket ${j}`);
      }
      assertEquals(rank.results.get("nbuckets")!.value, 4); // 48 | 20+32 | 28 | 1.2 MB bytes
    }
    for (const r of ranks) assertEquals((await r.close()).code, 0, r.stderr);
  } finally {
    for (const r of ranks) r.kill();
    await Promise.all(ranks.map((r) => r.close()));
  }
}

Deno.test({
  name: "distributed: Deno rank 0 and PyTorch rank 1 agree bit for bit on every collective",
  ignore,
  fn: () => interop(["deno", "python"]),
});

Deno.test({
  name: "distributed: PyTorch rank 0 (hosting the store) and Deno rank 1 agree bit for bit",
  ignore,
  fn: () => interop(["python", "deno"]),
});

Deno.test({
  name: "distributed: two Deno ranks agree bit for bit",
  ignore,
  fn: () => interop(["deno", "deno"]),
});

async function fault(langs: [Lang, Lang], victim: number): Promise<void> {
  const port = freePort();
  const ranks = langs.map((l, r) => new Rank(l, "fault", r, 2, port, TIMEOUT_MS));
  const survivor = ranks[1 - victim];
  try {
    await Promise.all(ranks.map((r) => r.waitFor("ready", 30_000)));
    ranks[victim].kill("SIGKILL");
    const killed = await ranks[victim].close();
    assert(!killed.success, "the victim was killed");
    const t0 = Date.now();
    await survivor.send("go");
    const f = (await survivor.waitFor("fault", TIMEOUT_MS + 10_000)).value as {
      ok: boolean;
      name: string;
      message: string;
      ms: number;
    };
    assert(!f.ok, "the collective after a peer's death failed");
    assertEquals(f.name, "TorchError");
    assert(f.message.includes("all_reduce"), f.message);
    assert(f.message.includes(`rank ${1 - victim} of 2`), f.message);
    assert(f.ms < TIMEOUT_MS + 2500, `failed after ${f.ms} ms`);
    assert(Date.now() - t0 < TIMEOUT_MS + 10_000);
    assertEquals((await survivor.close()).code, 0, survivor.stderr);
  } finally {
    for (const r of ranks) r.kill();
    await Promise.all(ranks.map((r) => r.close()));
  }
}

Deno.test({
  name: "distributed: a SIGKILLed PyTorch rank makes the Deno rank's next all-reduce fail fast",
  ignore,
  fn: () => fault(["deno", "python"], 1),
});

Deno.test({
  name: "distributed: a SIGKILLed store host (Deno rank 0) makes Deno rank 1's all-reduce fail",
  ignore,
  fn: () => fault(["deno", "deno"], 0),
});

Deno.test({
  name: "distributed: torchrun's contract (agent store, env://): Deno and PyTorch workers agree",
  ignore,
  fn: async () => {
    const port = freePort();
    const agent = new Rank("agent", "", 0, 0, port, 0);
    const ranks: Rank[] = [];
    try {
      await agent.waitFor("ready");
      const env = (rank: number) => ({
        RANK: String(rank),
        WORLD_SIZE: "2",
        MASTER_ADDR: "127.0.0.1",
        MASTER_PORT: String(port),
        TORCHELASTIC_USE_AGENT_STORE: "True",
        TORCHELASTIC_RESTART_COUNT: "0",
      });
      ranks.push(new Rank("deno", "torchrun", 0, 0, 0, 0, 60_000, env(0)));
      ranks.push(new Rank("python", "torchrun", 0, 0, 0, 0, 60_000, env(1)));
      await Promise.all(ranks.map((r) => r.waitFor("done")));
      for (const r of ranks) {
        assertEquals(r.results.get("sum")!.hex, EXPECTED.sum, r.lang);
        assertEquals(r.results.get("env")!.value, "True");
        assertEquals((await r.close()).code, 0, r.stderr);
      }
    } finally {
      for (const r of [...ranks, agent]) r.kill();
      await Promise.all([...ranks, agent].map((r) => r.close()));
    }
  },
});
