// Child ranks for the distributed tests: a Deno rank (rank.ts) or a PyTorch
// rank (rank.py), its "@@" result lines, a hard deadline, and cleanup.
import { PYTHON } from "../helpers/python.ts";

const HERE = new URL(".", import.meta.url).pathname;
const REPO = new URL("../../", import.meta.url).pathname;

/** A Deno rank, a PyTorch rank, or a stand-in for torchrun's agent hosting the store. */
export type Lang = "deno" | "python" | "agent";

/** A free loopback port, chosen now (the store binds it right after). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export class Rank {
  readonly lang: Lang;
  readonly results = new Map<string, Record<string, unknown>>();
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #done: Promise<void>;
  #stderr = "";
  #status: Deno.CommandStatus | null = null;
  readonly #deadline: ReturnType<typeof setTimeout>;

  /** Starts rank `rank` of `world` running `scenario`; it is SIGKILLed after `deadlineMs`. */
  constructor(
    lang: Lang,
    scenario: string,
    rank: number,
    world: number,
    port: number,
    timeoutMs: number,
    deadlineMs = 60_000,
    env: Record<string, string> = {},
  ) {
    this.lang = lang;
    const args = [scenario, String(rank), String(world), String(port), String(timeoutMs)];
    const [cmd, full] = lang === "deno"
      ? [Deno.execPath(), ["run", "--allow-all", `${HERE}rank.ts`, ...args]]
      : lang === "python"
      ? [PYTHON, [`${HERE}rank.py`, ...args]]
      : [PYTHON, [`${HERE}agent_store.py`, String(port)]];
    const child = new Deno.Command(cmd, {
      args: full,
      cwd: REPO,
      // Both sides take the loopback interface for Gloo (PyTorch's GLOO_SOCKET_IFNAME).
      env: { GLOO_SOCKET_IFNAME: "lo", OMP_NUM_THREADS: "1", NO_COLOR: "1", ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#deadline = setTimeout(() => this.kill(), deadlineMs);
    const readOut = (async () => {
      let buf = "";
      const dec = new TextDecoder();
      for await (const chunk of child.stdout) {
        buf += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.startsWith("@@")) continue;
          const o = JSON.parse(line.slice(2));
          this.results.set(o.done ? "done" : o.key, o);
        }
      }
    })();
    const readErr = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.#stderr = (this.#stderr + dec.decode(chunk)).slice(-8000);
      }
    })();
    this.#done = Promise.all([
      readOut,
      readErr,
      child.status.then((s) => {
        this.#status = s;
      }),
    ]).then(() => clearTimeout(this.#deadline));
  }

  get pid(): number {
    return this.#child.pid;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Waits (bounded) until the rank reported `key`; throws with its stderr otherwise. */
  async waitFor(key: string, ms = 30_000): Promise<Record<string, unknown>> {
    const until = Date.now() + ms;
    while (!this.results.has(key)) {
      if (this.#status !== null || Date.now() > until) {
        await Promise.race([this.#done, new Promise((r) => setTimeout(r, 200))]);
        if (this.results.has(key)) break;
        throw new Error(
          `${this.lang} rank: no "${key}" (${
            this.#status ? `exited ${this.#status.code}` : "timed out"
          });\nstderr:\n${this.#stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.results.get(key)!;
  }

  async send(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(line + "\n"));
  }

  kill(signal: Deno.Signal = "SIGKILL"): void {
    if (this.#status !== null) return;
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Waits (bounded) for the exit; kills the rank first if it is still running after `ms`. */
  async close(ms = 10_000): Promise<Deno.CommandStatus> {
    const t = setTimeout(() => this.kill(), ms);
    try {
      await this.#stdin.close().catch(() => {});
      await this.#done;
      return this.#status!;
    } finally {
      clearTimeout(t);
    }
  }
}
