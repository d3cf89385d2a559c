// Every test that runs the trainer says on which device (issue 22). `--device
// auto`, the default, trains on a GPU wherever one is visible, and there two
// runs of one seed differ (cuDNN's and cuBLAS's kernels choose algorithms and
// reduction orders per run): on an H200 the resume, SIGINT and kill -9 tests,
// which compare runs bit for bit, failed for that alone. So each launch of
// scripts/train.ts or scripts/evaluate.ts in tests/ must carry `--device`
// (or `--resume`, which keeps the resumed run's device), and each
// Trainer.create a config with `device` (or a resumed run's config); a test
// that means CUDA says `--device cuda`.
//
// The check reads the tests' sources with Deno's lint parser. A launch is an
// array holding the script's path (a string, a const, `join(...)` of them, or
// a parameter the caller fills: `task("train.ts", flags)`), a Trainer.create
// call, or a call of a named function that contains one, followed through
// parameters and imports across tests/. The flags are followed through
// consts, spreads, conditionals (every branch must be pinned) and parameters;
// `.slice(n)` is applied, `.filter(...)` is taken to keep every element (it
// could drop a `--device` unseen). A launch whose flags it cannot follow (a
// loop variable, a computed list) fails too: mark one that trains nothing
// (flags refused before a device is chosen) with a `// device-free: <why>`
// comment on its line or the line above.
import { dirname, join, relative, resolve } from "node:path";
import { assert, assertEquals } from "./helpers/asserts.ts";

/** The shape every node of Deno's lint AST has; children are read by key. */
interface Ast {
  type: string;
  range: [number, number];
  parent?: Ast;
  [key: string]: unknown;
}

interface SourceFile {
  path: string;
  text: string;
  program: Ast;
  nodes: Ast[];
}

type Verdict = "yes" | "no" | { unknown: string };
/** The arguments a function was called with, in its caller's environment. */
type Env = Map<Ast, { args: Ast[]; env: Env }>;
type Binding =
  | { kind: "value"; init: Ast }
  | { kind: "function"; fn: Ast }
  | { kind: "param"; fn: Ast; index: number; dflt: Ast | null }
  | { kind: "none" };

const WILD = "\u0000"; // an unbound parameter inside a string
const SCRIPT = /(^|\/)scripts\/(train|evaluate)\.ts$/;
const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

function isAst(v: unknown): v is Ast {
  return typeof v === "object" && v !== null && typeof (v as Ast).type === "string" &&
    Array.isArray((v as Ast).range);
}
const get = (n: Ast | null | undefined, k: string): Ast | null =>
  n && isAst(n[k]) ? n[k] as Ast : null;
const list = (n: Ast | null | undefined, k: string): Ast[] =>
  n && Array.isArray(n[k]) ? (n[k] as unknown[]).filter(isAst) : [];
const nameOf = (n: Ast | null): string | null => n?.type === "Identifier" ? n.name as string : null;

function any(vs: Verdict[]): Verdict {
  if (vs.includes("yes")) return "yes";
  return vs.find((v) => v !== "no") ?? "no";
}
function every(vs: Verdict[]): Verdict {
  if (vs.every((v) => v === "yes")) return "yes";
  if (vs.includes("no")) return "no";
  return vs.find((v) => v !== "yes")!;
}

class PinningScan {
  readonly files = new Map<string, SourceFile>();
  readonly #fileOf = new Map<Ast, SourceFile>();
  readonly #launchers = new Set<Ast>();

  constructor(sources: Record<string, string>) {
    for (const [path, text] of Object.entries(sources)) {
      const holder: { program?: Ast } = {};
      Deno.lint.runPlugin(
        {
          name: "device-pinning",
          rules: {
            scan: {
              create: () => ({ Program: (n) => void (holder.program = n as unknown as Ast) }),
            },
          },
        },
        path,
        text,
      );
      const program = holder.program!;
      const nodes: Ast[] = [];
      const walk = (n: Ast) => {
        nodes.push(n);
        for (const k in n) {
          if (k === "parent" || k === "range" || k === "type") continue;
          const v = n[k];
          if (Array.isArray(v)) { for (const c of v) isAst(c) && walk(c); }
          else if (isAst(v)) walk(v);
        }
      };
      walk(program);
      const file = { path, text, program, nodes };
      this.files.set(path, file);
      // The Program a node's parents lead to is another object than the visitor's: keep both.
      this.#fileOf.set(program, file);
      const root = list(program, "body")[0]?.parent;
      if (root) this.#fileOf.set(root, file);
    }
    // A named function is a launcher when its body launches, directly or through another.
    let grew = true;
    while (grew) {
      grew = false;
      for (const file of this.files.values()) {
        for (const fn of file.nodes.filter((n) => this.#named(n))) {
          if (this.#launchers.has(fn)) continue;
          if (this.#inside(fn).some((n) => this.#launchKind(n, null) !== null)) {
            this.#launchers.add(fn);
            grew = true;
          }
        }
      }
    }
  }

  /** Every unpinned launch outside a launcher's body (followed into the launchers it calls). */
  problems(): string[] {
    const out: string[] = [];
    for (const file of this.files.values()) {
      for (const n of file.nodes) {
        if (this.#launchKind(n, null) === null || this.#enclosingLauncher(n)) continue;
        if (this.#marked(file, n)) continue;
        for (const p of this.#check(n, new Map(), 0)) {
          out.push(`${relative(Deno.cwd(), file.path)}:${this.#line(file, n)}: ${p}`);
        }
      }
    }
    return out;
  }

  #line(file: SourceFile, n: Ast): number {
    return file.text.slice(0, n.range[0]).split("\n").length;
  }

  #marked(file: SourceFile, n: Ast): boolean {
    const lines = file.text.split("\n");
    const at = this.#line(file, n);
    return [lines[at - 1], lines[at - 2] ?? ""].some((l) => /\/\/\s*device-free:\s*\S/.test(l));
  }

  #file(n: Ast): SourceFile {
    let p: Ast = n;
    while (p.parent) p = p.parent;
    return this.#fileOf.get(p)!;
  }

  /** A function bound to a name (declaration, or `const f = (...) => ...`). */
  #named(n: Ast): boolean {
    if (n.type === "FunctionDeclaration") return get(n, "id") !== null;
    return FUNCTIONS.has(n.type) && n.parent?.type === "VariableDeclarator" &&
      get(n.parent, "init") === n;
  }

  #inside(fn: Ast): Ast[] {
    const [a, b] = fn.range;
    return this.#file(fn).nodes.filter((n) => n !== fn && n.range[0] >= a && n.range[1] <= b);
  }

  #enclosingLauncher(n: Ast, stop?: Ast): Ast | null {
    for (let p = n.parent; p && p !== stop; p = p.parent) {
      if (this.#launchers.has(p)) return p;
    }
    return null;
  }

  // --- names ---------------------------------------------------------------

  #declared(stmt: Ast, name: string): Binding | null {
    const d = stmt.type === "ExportNamedDeclaration" ? get(stmt, "declaration") : stmt;
    if (d?.type === "VariableDeclaration") {
      for (const decl of list(d, "declarations")) {
        if (nameOf(get(decl, "id")) !== name) continue;
        const init = get(decl, "init");
        if (!init) return { kind: "none" };
        return FUNCTIONS.has(init.type) ? { kind: "function", fn: init } : { kind: "value", init };
      }
    }
    if (d?.type === "FunctionDeclaration" && nameOf(get(d, "id")) === name) {
      return { kind: "function", fn: d };
    }
    return null;
  }

  #lookup(at: Ast, name: string): Binding {
    for (let p = at.parent; p; p = p.parent) {
      if (FUNCTIONS.has(p.type)) {
        const params = list(p, "params");
        for (let i = 0; i < params.length; i++) {
          const q = params[i];
          const id = q.type === "AssignmentPattern" ? get(q, "left") : q;
          if (nameOf(id) === name) {
            return {
              kind: "param",
              fn: p,
              index: i,
              dflt: q.type === "AssignmentPattern" ? get(q, "right") : null,
            };
          }
        }
      }
      if (p.type === "Program" || p.type === "BlockStatement") {
        for (const s of list(p, "body")) {
          const b = this.#declared(s, name);
          if (b) return b;
        }
      }
      if (p.type === "Program") return this.#imported(p, name);
    }
    return { kind: "none" };
  }

  #imported(program: Ast, name: string): Binding {
    const here = this.#fileOf.get(program)!;
    for (const s of list(program, "body")) {
      if (s.type !== "ImportDeclaration") continue;
      for (const spec of list(s, "specifiers")) {
        if (nameOf(get(spec, "local")) !== name || spec.type !== "ImportSpecifier") continue;
        const from = resolve(dirname(here.path), String(get(s, "source")?.value));
        const there = this.files.get(from);
        const exported = nameOf(get(spec, "imported")) ?? name;
        for (const t of there ? list(there.program, "body") : []) {
          const b = this.#declared(t, exported);
          if (b) return b;
        }
      }
    }
    return { kind: "none" };
  }

  /** The value a parameter was given (its default when the call left it out). */
  #argument(b: Binding & { kind: "param" }, env: Env): { node: Ast; env: Env } | null {
    const call = env.get(b.fn);
    if (!call) return null;
    const a = call.args[b.index];
    if (a) return { node: a, env: call.env };
    return b.dflt ? { node: b.dflt, env } : null;
  }

  // --- strings -------------------------------------------------------------

  /** The string an expression evaluates to, "?" for unknown parts, WILD for an unbound parameter (env null). */
  #str(n: Ast, env: Env | null, depth = 0): string | null {
    if (depth > 30) return null;
    switch (n.type) {
      case "Literal":
        return typeof n.value === "string" ? n.value : null;
      case "TemplateLiteral": {
        const q = list(n, "quasis");
        return list(n, "expressions").length === 0 && q.length === 1
          ? String((q[0].cooked ?? (q[0].value as { cooked?: string })?.cooked) ?? "")
          : null;
      }
      case "Identifier": {
        const b = this.#lookup(n, n.name as string);
        if (b.kind === "value") return this.#str(b.init, env, depth + 1);
        if (b.kind === "param") {
          if (env === null) return WILD;
          const a = this.#argument(b, env);
          return a ? this.#str(a.node, a.env, depth + 1) : null;
        }
        return null;
      }
      case "CallExpression": {
        const callee = get(n, "callee");
        const fname = nameOf(callee) ?? nameOf(get(callee, "property"));
        if (fname !== "join" && fname !== "resolve") return null;
        return list(n, "arguments").map((a) => this.#str(a, env, depth + 1) ?? "?").join("/");
      }
      case "MemberExpression": // new URL(rel, import.meta.url).pathname
        return nameOf(get(n, "property")) === "pathname"
          ? this.#str(get(n, "object")!, env, depth + 1)
          : null;
      case "NewExpression":
        return nameOf(get(n, "callee")) === "URL" && list(n, "arguments")[0]
          ? this.#str(list(n, "arguments")[0], env, depth + 1)
          : null;
      default:
        return null;
    }
  }

  // --- launches ------------------------------------------------------------

  /** "train" / "evaluate" for an array naming that script, "?" when a parameter may. */
  #script(arr: Ast, env: Env | null): string | null {
    for (const el of list(arr, "elements")) {
      if (el.type === "SpreadElement") continue;
      const s = this.#str(el, env);
      if (s === null) continue;
      const m = SCRIPT.exec(s);
      if (m) return m[2];
      if (s.includes("scripts/") && s.includes(WILD)) return "?";
    }
    return null;
  }

  #isTrainerCreate(n: Ast): boolean {
    const callee = get(n, "callee");
    return n.type === "CallExpression" && callee?.type === "MemberExpression" &&
      nameOf(get(callee, "object")) === "Trainer" && nameOf(get(callee, "property")) === "create";
  }

  #calledLauncher(n: Ast): Ast | null {
    if (n.type !== "CallExpression") return null;
    const name = nameOf(get(n, "callee"));
    if (name === null) return null;
    const b = this.#lookup(n, name);
    return b.kind === "function" && this.#launchers.has(b.fn) ? b.fn : null;
  }

  #launchKind(n: Ast, env: Env | null): "script" | "create" | "call" | null {
    if (n.type === "ArrayExpression" && this.#script(n, env) !== null) return "script";
    if (this.#isTrainerCreate(n)) return "create";
    return this.#calledLauncher(n) ? "call" : null;
  }

  #check(n: Ast, env: Env, depth: number): string[] {
    if (depth > 20) return ["launch nested too deep to follow"];
    const kind = this.#launchKind(n, env);
    if (kind === "script") {
      const script = this.#script(n, env)!;
      if (script === "?") return [];
      const v = this.#flags(n, env, script === "train", 0);
      return v === "yes" ? [] : [
        `scripts/${script}.ts launched without --device` +
        (v === "no" ? "" : ` (cannot tell: ${v.unknown})`),
      ];
    }
    if (kind === "create") {
      const [cfg, opts] = list(n, "arguments");
      if (opts?.type === "ObjectExpression" && this.#hasKey(opts, "resumeFrom")) return [];
      const v = cfg ? this.#config(cfg, env, 0) : "no";
      return v === "yes" ? [] : [
        `Trainer.create with a config without device` +
        (v === "no" ? "" : ` (cannot tell: ${v.unknown})`),
      ];
    }
    if (kind === "call") {
      const fn = this.#calledLauncher(n)!;
      const inner: Env = new Map(env).set(fn, { args: list(n, "arguments"), env });
      const out: string[] = [];
      for (const m of this.#inside(fn)) {
        if (this.#launchKind(m, null) === null || this.#enclosingLauncher(m, fn)) continue;
        const callee = nameOf(get(n, "callee"));
        out.push(...this.#check(m, inner, depth + 1).map((p) => `${p} (through ${callee}())`));
      }
      return out;
    }
    return [];
  }

  #hasKey(obj: Ast, key: string): boolean {
    return list(obj, "properties").some((p) =>
      p.type === "Property" && (nameOf(get(p, "key")) ?? get(p, "key")?.value) === key
    );
  }

  #follow(
    n: Ast,
    env: Env,
    depth: number,
    f: (n: Ast, env: Env, depth: number) => Verdict,
  ): Verdict | null {
    switch (n.type) {
      case "Identifier": {
        const b = this.#lookup(n, n.name as string);
        if (b.kind === "value") return f(b.init, env, depth + 1);
        if (b.kind === "param") {
          const a = this.#argument(b, env);
          return a ? f(a.node, a.env, depth + 1) : { unknown: `parameter ${n.name}` };
        }
        return n.name === "undefined" ? "no" : { unknown: `${n.name} is no const or parameter` };
      }
      case "ConditionalExpression":
        return every([
          f(get(n, "consequent")!, env, depth + 1),
          f(get(n, "alternate")!, env, depth + 1),
        ]);
      case "LogicalExpression":
        return every([f(get(n, "left")!, env, depth + 1), f(get(n, "right")!, env, depth + 1)]);
      case "AwaitExpression":
        return f(get(n, "argument")!, env, depth + 1);
      case "TSAsExpression":
      case "TSSatisfiesExpression":
      case "TSNonNullExpression":
        return f(get(n, "expression")!, env, depth + 1);
      default:
        return null;
    }
  }

  /** Whether a list of command-line flags names --device (or --resume, for train). */
  #flags(n: Ast, env: Env, resumeOk: boolean, depth: number): Verdict {
    if (depth > 30) return { unknown: "flags nested too deep" };
    const rec = (m: Ast, e: Env, d: number) => this.#flags(m, e, resumeOk, d);
    const followed = this.#follow(n, env, depth, rec);
    if (followed) return followed;
    if (n.type === "ArrayExpression") {
      return any(
        list(n, "elements").map((el): Verdict => {
          if (el.type === "SpreadElement") return rec(get(el, "argument")!, env, depth + 1);
          const s = this.#str(el, env);
          if (s === null) return "no";
          return s === "--device" || s.startsWith("--device=") || (resumeOk && s === "--resume")
            ? "yes"
            : "no";
        }),
      );
    }
    if (n.type === "CallExpression") {
      const callee = get(n, "callee");
      const method = nameOf(get(callee, "property"));
      const recv = get(callee, "object");
      const args = list(n, "arguments");
      if (callee?.type === "MemberExpression" && recv) {
        if (method === "slice") {
          const arr = this.#literalArray(recv);
          const ks = args.map((a) => typeof a.value === "number" ? a.value : NaN);
          if (arr && ks.every(Number.isFinite)) {
            const kept = arr.slice(...(ks as number[]));
            return any(kept.map((el) => this.#str(el, env) === "--device" ? "yes" : "no"));
          }
          return rec(recv, env, depth + 1);
        }
        if (method === "filter") return rec(recv, env, depth + 1);
        if (method === "concat") return any([recv, ...args].map((a) => rec(a, env, depth + 1)));
      }
    }
    return { unknown: `cannot follow a ${n.type}` };
  }

  /** The elements of an array literal without spreads that `n` names, else null. */
  #literalArray(n: Ast): Ast[] | null {
    for (let i = 0; i < 30 && n.type === "Identifier"; i++) {
      const b = this.#lookup(n, n.name as string);
      if (b.kind !== "value") return null;
      n = b.init;
    }
    const els = n.type === "ArrayExpression" ? list(n, "elements") : null;
    return els && els.every((e) => e.type !== "SpreadElement") ? els : null;
  }

  /** Whether a Trainer config names `device` (or is a resumed run's saved config). */
  #config(n: Ast, env: Env, depth: number): Verdict {
    if (depth > 30) return { unknown: "config nested too deep" };
    const rec = (m: Ast, e: Env, d: number) => this.#config(m, e, d);
    const followed = this.#follow(n, env, depth, rec);
    if (followed) return followed;
    if (n.type === "ObjectExpression") {
      if (this.#hasKey(n, "device")) return "yes";
      return any(
        list(n, "properties").filter((p) => p.type === "SpreadElement").map((p) =>
          rec(get(p, "argument")!, env, depth + 1)
        ),
      );
    }
    if (n.type === "CallExpression") {
      const callee = get(n, "callee");
      const fname = nameOf(callee) ?? nameOf(get(callee, "property"));
      if (fname === "resolveConfig") {
        const over = list(n, "arguments")[1];
        return over ? rec(over, env, depth + 1) : "no";
      }
      if (fname === "resumeConfig" || fname === "readConfig") return "yes"; // the saved run's device
    }
    if (n.type === "Literal" && n.value === null) return "no";
    return { unknown: `cannot follow a ${n.type}` };
  }
}

async function testSources(): Promise<Record<string, string>> {
  const root = new URL(".", import.meta.url).pathname;
  const out: Record<string, string> = {};
  const visit = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await visit(p);
      else if (e.isFile && p.endsWith(".ts")) out[resolve(p)] = await Deno.readTextFile(p);
    }
  };
  await visit(root);
  return out;
}

Deno.test("every test that runs the trainer names its device (--device, or device in the config)", async () => {
  const scan = new PinningScan(await testSources());
  assert(scan.files.size > 50, `read only ${scan.files.size} test files`);
  const problems = scan.problems();
  assertEquals(
    problems,
    [],
    'pin these with --device cpu (or device: "cpu"), or --device cuda where CUDA is meant:\n' +
      problems.join("\n"),
  );
});

Deno.test("the device scan catches unpinned launches of every kind it knows", () => {
  const dir = "/fixture/tests/train";
  const scan = new PinningScan({
    [`${dir}/_helpers.ts`]: `
import { join } from "node:path";
export const ROOT = new URL("../../", import.meta.url).pathname;
export const TRAIN = join(ROOT, "scripts/train.ts");
export const PINNED = ["--epochs", "1", "--device", "cpu"];
export function train(args: string[], opts = {}) {
  return new Deno.Command(Deno.execPath(), { args: ["run", "-A", TRAIN, ...args], ...opts });
}
export function rank(r: number, args: string[]) { return train(args, { env: { RANK: String(r) } }); }
`,
    [`${dir}/a_test.ts`]: `
import { join } from "node:path";
import { PINNED, rank, train, TRAIN } from "./_helpers.ts";
const ROOT = "/x";
async function task(script: string, args: string[]) {
  return await new Deno.Command("deno", { args: ["run", join(ROOT, "scripts", script), ...args] }).output();
}
async function runTiny(cfg: object) {
  return await Trainer.create(resolveConfig(undefined, { epochs: 1, ...cfg }));
}
train(["--epochs", "1"]); // ✗ unpinned
train([...PINNED, "--out", "d"]);
rank(1, ["--limit", "8"]); // ✗ unpinned, through rank()
rank(1, [...PINNED]);
new Deno.Command("python3", { args: ["-m", "x", TRAIN, "--epochs", "1"] }); // ✗ unpinned
task("train.ts", ["--epochs", "1"]); // ✗ unpinned
task("evaluate.ts", ["--run", "r", "--device", "cpu"]);
task("export.ts", ["--run", "r"]); // not a trainer
runTiny({ out: "d" }); // ✗ unpinned
runTiny({ out: "d", device: "cpu" });
Trainer.create(await folder.readConfig(), { resumeFrom: ck, folder });
train(["--resume", "d"]);
const flags = ["--image-size", "16", "--epochs", "1", "--device", "cpu"];
train(flags.slice(4));
train(flags.slice(0, 4)); // ✗ slice drops --device
for (const args of [["--lr", "x"]]) train(args); // ✗ cannot tell
// device-free: refused before a device is chosen
for (const args of [["--lr", "x"]]) train(args);
train(Math.random() > 0.5 ? [...PINNED] : ["--epochs", "2"]); // ✗ one branch unpinned
`,
  });
  const text = scan.files.get(`${dir}/a_test.ts`)!.text.split("\n");
  const want = text.flatMap((l, i) => l.includes("// ✗") ? [i + 1] : []);
  const lines = scan.problems().map((p) => Number(/a_test\.ts:(\d+):/.exec(p)?.[1]));
  assertEquals(lines, want, scan.problems().join("\n"));
});
