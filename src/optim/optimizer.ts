// The shared machinery of the optimizers: parameter groups (PyTorch style, a
// group's options override the defaults), the per-group tensor lists built
// once so a step is one FFI call per group, zeroGrad, learning-rate control,
// state dicts and disposal.
import { assignData, type Tensor } from "../../ffi/tensor.ts";
import { full, zerosLike } from "../../ffi/creation.ts";
import { keep, releaseMany } from "../../ffi/memory.ts";
import { noGrad } from "../../ffi/runtime.ts";
import { fillScalars, readScalars, TensorList, zeroGradList } from "../../ffi/lists.ts";
import * as A from "../../ffi/args.ts";

/** A parameter group: its tensors plus options that override the optimizer's defaults. */
export type ParamGroup<O> = Partial<O> & {
  params: Tensor[];
  /** Parameter names (same order as params), for LARS' `exclude` and for messages. */
  names?: string[];
  /** `setLr(lr)` gives this group `lr * lrScale` (default 1). */
  lrScale?: number;
};

/** What an optimizer takes: plain tensors (one group) or parameter groups. */
export type Params<O> = Tensor[] | ParamGroup<O>[];

/** A group as the optimizer holds it: every option resolved. Options may be edited between steps. */
export type ResolvedGroup<O> = O & {
  readonly params: readonly Tensor[];
  readonly names: readonly string[];
  lrScale: number;
};

/** The options every optimizer has. */
export interface BaseOptions {
  lr: number;
  weightDecay: number;
}

/**
 * `capturable: true` is torch.optim's capturable=True: step() reads no device
 * value on the host and makes one FFI call per group, so a CUDA graph can
 * record it. Each group's lr then lives in a 0-dim float64 tensor on its
 * parameters' device (the plain step's host double: every kernel rounds it to
 * the parameters' dtype as it rounds a scalar, so the two steps agree), written only by setLr() (all groups in one FFI call) and
 * loadStateDict(): change the lr with setLr(), not by editing a group's `lr`
 * (step() refuses a group whose lr was edited directly). AdamW's step counts
 * become per-parameter device tensors. Host-side state a step still branches on
 * (SGD's first-step momentum copy) is fixed once a warm-up step has run, so
 * capture a step only after at least one eager step. State dicts have the same
 * format in both modes and load across them.
 */
export interface CapturableOption {
  capturable?: boolean;
}

/** JSON-able side of a state dict: hyperparameters per group and scalar state. */
export interface OptimizerMeta {
  type: string;
  groups: Array<Record<string, number | boolean>>;
  [key: string]: unknown;
}

/** An optimizer's state: tensors keyed `<param index>.<name>` (PyTorch's numbering) and meta. */
export interface OptimizerStateDict {
  tensors: Record<string, Tensor>;
  meta: OptimizerMeta;
}

export abstract class Optimizer<O extends BaseOptions> {
  /** The groups, in order; `lr`, `weightDecay` etc. may be changed between steps. */
  readonly paramGroups: ResolvedGroup<O>[];
  /** Each group's parameters as one list for the shim, built once. */
  protected readonly paramLists: TensorList[];
  readonly #kind: string;
  readonly #all: Tensor[];
  readonly #allList: TensorList;
  /** Global index of each group's first parameter. */
  readonly #groupStart: number[];
  /** Per-param state tensors by name (e.g. "momentum_buffer"), indexed globally. */
  readonly #state = new Map<string, Tensor[]>();
  /**
   * Per-param 0-dim float32 device tensors outside the state dict's tensors
   * (AdamW's capturable step counts), by name, indexed globally; with the flat
   * list that reads and writes them in one call.
   */
  readonly #scalars = new Map<string, { ts: Tensor[]; list: TensorList }>();
  /** Whether step() takes its lr from device tensors (see CapturableOption). */
  readonly capturable: boolean;
  /** capturable: each group's lr, a kept 0-dim float64 tensor on its parameters' device. */
  readonly #lrTensors: Tensor[] = [];
  #lrList: TensorList | null = null;
  /** capturable: the values the lr tensors hold (what setLr last wrote). */
  #lrWritten: Float64Array | null = null;
  #baseLr: number;
  #disposed = false;

  protected constructor(
    kind: string,
    params: Params<O>,
    defaults: O,
    { capturable = false }: CapturableOption = {},
  ) {
    this.#kind = kind;
    checkNonNegative(kind, "lr", defaults.lr);
    this.#baseLr = defaults.lr;
    checkParams(kind, params, defaults);
    const groups: ParamGroup<O>[] = params.length > 0 && !isGroup(params[0])
      ? [{ params: params as Tensor[] } as ParamGroup<O>]
      : params as ParamGroup<O>[];
    const seen = new Set<Tensor>();
    let index = 0;
    this.paramGroups = groups.map((g, gi) => {
      if (!isGroup(g)) throw new TypeError(`${kind}: mix of tensors and parameter groups`);
      const { params: ps, names, lrScale = 1, ...overrides } = g;
      if (names !== undefined && names.length !== ps.length) {
        throw new TypeError(
          `${kind}: group ${gi} has ${ps.length} params but ${names.length} names`,
        );
      }
      for (const p of ps) {
        if (seen.has(p)) throw new TypeError(`${kind}: a parameter appears in more than one group`);
        seen.add(p);
      }
      const opts = { ...defaults } as O;
      // Only options the group actually sets override (undefined keeps the default).
      for (const [k, v] of Object.entries(overrides)) {
        if (v !== undefined) (opts as Record<string, unknown>)[k] = v;
      }
      if (!("lr" in overrides) || overrides.lr === undefined) opts.lr = defaults.lr * lrScale;
      checkNonNegative(kind, "lr", opts.lr);
      checkNonNegative(kind, "weightDecay", opts.weightDecay);
      const first = index;
      index += ps.length;
      return {
        ...opts,
        params: ps.slice(),
        names: names?.slice() ?? ps.map((_, i) => String(first + i)),
        lrScale,
      };
    });
    if (index === 0) throw new TypeError(`${kind}: got an empty parameter list`);
    this.#all = this.paramGroups.flatMap((g) => g.params);
    this.#allList = new TensorList(this.#all, {
      label: `the ${kind} parameter list`,
      item: "parameter",
    });
    let at = 0;
    this.#groupStart = this.paramGroups.map((g) => (at += g.params.length) - g.params.length);
    this.paramLists = this.paramGroups.map((g, gi) =>
      new TensorList(g.params, {
        label: `the ${kind} parameter list${this.paramGroups.length > 1 ? ` (group ${gi})` : ""}`,
        item: "parameter",
        names: groups[gi].names,
      })
    );
    this.capturable = capturable;
    if (capturable) {
      for (const g of this.paramGroups) {
        const device = (g.params[0] ?? this.#all[0]).device;
        this.#lrTensors.push(keep(full([], g.lr, { dtype: "float64", device })));
      }
      this.#lrList = new TensorList(this.#lrTensors, { label: `the ${kind} lr list` });
      this.#lrWritten = Float64Array.from(this.paramGroups, (g) => g.lr);
    }
  }

  /** Updates every parameter that has a gradient: one FFI call per group. */
  abstract step(): void;

  /** Drops the gradients (setToNone, the default) or zeroes them, in one FFI call. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    this.assertUsable();
    zeroGradList(this.#allList, setToNone);
  }

  /** The base learning rate: the last value given to setLr (the default lr until then). */
  get lr(): number {
    return this.#baseLr;
  }

  set lr(lr: number) {
    this.setLr(lr);
  }

  /**
   * Sets every group's lr to `lr * lrScale` (for schedules); capturable, also
   * writes every group's lr tensor, in one FFI call with no device sync.
   */
  setLr(lr: number): void {
    A.nonNegative(`${this.#kind}.setLr(lr)`, "lr", lr);
    this.#baseLr = lr;
    for (const g of this.paramGroups) g.lr = lr * g.lrScale;
    if (this.capturable) this.#writeLrs();
  }

  /** Writes each group's lr into its lr tensor (capturable), one FFI call. */
  #writeLrs(): void {
    if (this.#disposed) throw new TypeError(`${this.#kind}: the optimizer was disposed`);
    const values = this.#lrWritten!;
    this.paramGroups.forEach((g, gi) => values[gi] = g.lr);
    fillScalars(this.#lrList!, values);
  }

  /**
   * Group `gi`'s lr tensor (capturable only): what a capturable step reads.
   * Throws when the group's lr was edited directly since setLr() wrote it.
   */
  protected lrTensor(gi: number): Tensor {
    const g = this.paramGroups[gi];
    if (g.lr !== this.#lrWritten![gi]) {
      throw new TypeError(
        `${this.#kind}.step(): group ${gi}'s lr was changed to ${g.lr} directly, but a capturable ` +
          `optimizer reads its lr from a device tensor (still ${this.#lrWritten![gi]}): ` +
          "change the lr with setLr()",
      );
    }
    return this.#lrTensors[gi];
  }

  /**
   * The state for an exact resume. The tensors are the optimizer's own (not
   * copies): save or copy them, do not dispose them.
   */
  stateDict(): OptimizerStateDict {
    this.assertUsable();
    const tensors: Record<string, Tensor> = {};
    for (const [name, ts] of this.#state) {
      ts.forEach((t, i) => tensors[`${i}.${name}`] = t);
    }
    const groups = this.paramGroups.map((g) => {
      const h: Record<string, number | boolean> = { size: g.params.length, lrScale: g.lrScale };
      for (const [k, v] of Object.entries(g)) {
        if (typeof v === "number" || typeof v === "boolean") h[k] = v;
      }
      return h;
    });
    return {
      tensors,
      meta: { type: this.#kind, baseLr: this.#baseLr, groups, ...this.metaState() },
    };
  }

  /**
   * Restores a state dict from an optimizer of the same kind over parameters of
   * the same shapes: values are copied into the existing state tensors (their
   * handles never change), hyperparameters and scalar state are restored.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    this.assertUsable();
    const { tensors, meta } = sd;
    if (meta.type !== this.#kind) {
      throw new TypeError(`${this.#kind}.loadStateDict: the state dict is from ${meta.type}`);
    }
    const sizes = this.paramGroups.map((g) => g.params.length).join(",");
    const theirs = meta.groups.map((g) => g.size).join(",");
    if (sizes !== theirs) {
      throw new TypeError(
        `${this.#kind}.loadStateDict: group sizes [${theirs}] do not match [${sizes}]`,
      );
    }
    // Check everything before copying anything, so a bad dict changes nothing.
    for (const [name, ts] of this.#state) {
      ts.forEach((t, i) => {
        const src = tensors[`${i}.${name}`];
        if (src === undefined) {
          throw new TypeError(`${this.#kind}.loadStateDict: missing tensor ${i}.${name}`);
        }
        if (src.shape.join(",") !== t.shape.join(",")) {
          throw new TypeError(
            `${this.#kind}.loadStateDict: ${i}.${name} has shape [${src.shape}], expected [${t.shape}]`,
          );
        }
      });
    }
    this.loadMetaState(meta); // validates before it writes
    noGrad(() => {
      for (const [name, ts] of this.#state) {
        ts.forEach((t, i) => t.copy_(tensors[`${i}.${name}`]));
      }
    });
    const fixed = this.fixedOptions();
    this.paramGroups.forEach((group, gi) => {
      const g = group as unknown as Record<string, unknown>;
      const saved = meta.groups[gi];
      for (const k of Object.keys(saved)) {
        const mine = g[k];
        if (k === "size" || fixed.includes(k) || typeof saved[k] !== typeof mine) continue;
        g[k] = saved[k];
      }
    });
    if (typeof meta.baseLr === "number") this.#baseLr = meta.baseLr;
    if (this.capturable) this.#writeLrs();
  }

  /** Frees the state tensors. The optimizer cannot be used afterwards; parameters are untouched. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    releaseMany([
      ...[...this.#state.values()].flat(),
      ...[...this.#scalars.values()].flatMap((s) => s.ts),
      ...this.#lrTensors,
    ]);
    this.#state.clear();
    this.#scalars.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Scalar state (steps, flags) for the state dict's meta. */
  protected metaState(): Record<string, unknown> {
    return {};
  }

  protected loadMetaState(_meta: OptimizerMeta): void {}

  /** Group options fixed at construction, which loadStateDict leaves alone. */
  protected fixedOptions(): readonly string[] {
    return [];
  }

  /**
   * Creates one zero state tensor per parameter of every group (kept: they
   * outlive tidy scopes) under `name`; returns each group's list of them.
   */
  protected createState(name: string): TensorList[] {
    const ts = noGrad(() => this.#all.map((p) => keep(zerosLike(p))));
    this.#state.set(name, ts);
    let at = 0;
    return this.paramGroups.map((g) => {
      const mine = ts.slice(at, at += g.params.length);
      return new TensorList(mine, { label: `the ${this.#kind} ${name} list` });
    });
  }

  /**
   * Creates one 0-dim float32 zero per parameter of every group, on its device
   * (kept), under `name`: device-side scalar state that is not one of the state
   * dict's tensors (the state dict carries it in meta through
   * readScalarState / writeScalarState). Returns each group's list of them.
   */
  protected createScalars(name: string): TensorList[] {
    const ts = this.#all.map((p) => keep(full([], 0, { dtype: "float32", device: p.device })));
    this.#scalars.set(name, {
      ts,
      list: new TensorList(ts, { label: `the ${this.#kind} ${name} list` }),
    });
    let at = 0;
    return this.paramGroups.map((g) => {
      const mine = ts.slice(at, at += g.params.length);
      return new TensorList(mine, { label: `the ${this.#kind} ${name} list` });
    });
  }

  /** The scalars of createScalars(name), read back in one FFI call (a device sync). */
  protected readScalarState(name: string): number[] {
    const { list } = this.#scalars.get(name)!;
    return Array.from(readScalars(list, new Float64Array(list.length)));
  }

  /** Writes the scalars of createScalars(name) in one FFI call. */
  protected writeScalarState(name: string, values: Float64Array): void {
    fillScalars(this.#scalars.get(name)!.list, values);
  }

  /**
   * Throws unless the optimizer and its parameters are alive (a disposed
   * parameter is a TorchError from the TensorList check, so no freed handle
   * reaches the shim), and makes the state follow parameters whose data was
   * swapped (Module.to(), channelsLast()): each state tensor of a moved
   * parameter takes its dtype, device and memory format, values kept (as
   * PyTorch's Optimizer.load_state_dict casts state to its parameter).
   */
  protected assertUsable(): void {
    if (this.#disposed) throw new TypeError(`${this.#kind}: the optimizer was disposed`);
    this.#allList.sync(this.#kind);
    this.paramLists.forEach((l, gi) =>
      l.sync(this.#kind, (j) => this.#follow(this.#groupStart[gi] + j))
    );
  }

  #follow(k: number): void {
    const p = this.#all[k];
    // Device scalars keep their dtype and follow the device only; so does the
    // lr of the group whose parameter moved.
    const scalars = [...this.#scalars.values()].map((s) => s.ts[k]);
    if (this.capturable) {
      const gi = this.#groupStart.findLastIndex((start) => start <= k);
      scalars.push(this.#lrTensors[gi]);
    }
    for (const s of scalars) {
      if (s.device === p.device) continue;
      assignData(s, noGrad(() => s.to({ device: p.device })));
    }
    for (const ts of this.#state.values()) {
      const s = ts[k];
      const format = p.memoryFormat;
      if (s.dtype === p.dtype && s.device === p.device && s.memoryFormat === format) continue;
      const data = noGrad(() => {
        using moved = s.to({ dtype: p.dtype, device: p.device });
        return moved.contiguous(format);
      });
      assignData(s, data);
    }
  }
}

function isGroup(x: unknown): x is ParamGroup<unknown> {
  return typeof x === "object" && x !== null && "params" in x &&
    Array.isArray((x as { params: unknown }).params);
}

/** `optim.SGD(params, options)`: the signature the argument checks name. */
export function optimSig(kind: string): string {
  return `optim.${kind}(params, options)`;
}

/** An option (or a group's value of it) is a finite number >= 0. */
export function checkNonNegative(kind: string, name: string, v: number): void {
  A.nonNegative(optimSig(kind), `options.${name}`, v);
}

/**
 * Checks an optimizer's options object before it is resolved: an object (or
 * undefined when `lrRequired` is false) whose keys are all in `known`, with
 * `lr` when required (PyTorch 1.13's SGD and LARS have no default lr).
 */
export function checkOptions(
  kind: string,
  opts: unknown,
  known: readonly string[],
  lrRequired: boolean,
): void {
  const sig = optimSig(kind);
  const o = A.options(sig, opts, known);
  if (lrRequired && o?.lr === undefined) {
    throw A.typeError(sig, "options.lr", "given (a finite number >= 0)", o?.lr);
  }
  if (o === undefined) return;
  for (const k of known) {
    const v = o[k];
    if (v === undefined || k === "betas" || k === "exclude") continue;
    if (k === "nesterov" || k === "lars" || k === "capturable") A.bool(sig, `options.${k}`, v);
    else A.finite(sig, `options.${k}`, v);
  }
}

/**
 * `params`: an array of live Tensors, or of groups `{ params: Tensor[], ... }`
 * whose options have the type of their default. Groups may carry other keys,
 * as PyTorch's do (decayParamGroups' `lars`, which only LARS reads).
 */
function checkParams<O extends BaseOptions>(kind: string, params: unknown, defaults: O): void {
  const sig = optimSig(kind);
  if (!Array.isArray(params)) {
    throw A.typeError(sig, "params", "an array of Tensors or of groups { params: [...] }", params);
  }
  if (params.length === 0 || !isGroup(params[0])) {
    A.tensorList(sig, "params", params);
    return;
  }
  params.forEach((g, gi) => {
    if (!isGroup(g)) {
      throw A.typeError(sig, `params[${gi}]`, "a group { params: [...] } like params[0]", g);
    }
    A.tensorList(sig, `params[${gi}].params`, g.params);
    if (
      g.names !== undefined &&
      !(Array.isArray(g.names) && g.names.every((n) => typeof n === "string"))
    ) {
      throw A.typeError(sig, `params[${gi}].names`, "an array of strings", g.names);
    }
    if (g.lrScale !== undefined) A.nonNegative(sig, `params[${gi}].lrScale`, g.lrScale);
    for (const [k, v] of Object.entries(g)) {
      const d = (defaults as unknown as Record<string, unknown>)[k];
      if (d !== undefined && v !== undefined && typeof v !== typeof d) {
        throw A.typeError(sig, `params[${gi}].${k}`, `a ${typeof d}`, v);
      }
    }
  });
}

/** Concatenates per-group counters / flags into one JSON-able array. */
export function flatValues(
  arrays: readonly (Uint8Array | BigInt64Array | Float64Array)[],
): number[] {
  return arrays.flatMap((a) => Array.from(a as ArrayLike<number | bigint>, Number));
}

/** Writes a flat array back into per-group counters / flags (lengths must match). */
export function loadFlatValues(
  kind: string,
  what: string,
  values: unknown,
  arrays: readonly (Uint8Array | BigInt64Array | Float64Array)[],
): void {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  if (!Array.isArray(values) || values.length !== total || !values.every(Number.isInteger)) {
    throw new TypeError(`${kind}.loadStateDict: meta.${what} must be ${total} integers`);
  }
  let at = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = values[at++] as number;
      if (a instanceof BigInt64Array) a[i] = BigInt(v);
      else a[i] = v;
    }
  }
}
