// The encoder registry: every encoder kind the toolkit trains, one entry each:
// the settings it is built from, a one-line description, its input
// convolution's key, and the lazy import of its module's file (src/nn/) giving
// its builder; and the metadata an encoder file records so that the file alone
// rebuilds it. The kinds' names (settings.ts's --encoder choices) are this
// table's keys.
//
// Pure data and functions: this module loads no libtorch (the imports run only
// when called), so settings.ts, which takes the names from here, stays a
// settings table without libtorch (tests/train/encoders_test.ts checks it).
// src/train/encoders.ts loads the builders and builds.
import type { Encoder } from "../byol/model.ts";

export type Stem = "imagenet" | "cifar";
const STEMS: readonly Stem[] = ["imagenet", "cifar"];

/** What an encoder is built from, besides its kind. */
export interface EncoderOptions {
  /** Channels of the input images (1 or 3). */
  inChannels: number;
  /** The convnet's first block width. */
  width?: number;
  /** The ResNet stem. */
  stem?: Stem;
}

/** The settings besides inChannels that an encoder kind is built from (and its files record). */
type OptionKey = "width" | "stem";

/** Builds an encoder kind (random init) from its options. */
export type EncoderBuilder = (o: EncoderOptions) => Encoder;

interface EncoderKind {
  /** The settings (besides inChannels) this kind is built from, in its files' metadata. */
  readonly options: readonly OptionKey[];
  /** The state-dict key of the input convolution's weight (out, in, kh, kw). */
  readonly inputConv: string;
  /** One line: what this encoder is. */
  describe(o: EncoderOptions): string;
  /** Imports the kind's module (libtorch) and gives its builder. */
  load(): Promise<EncoderBuilder>;
}

const input = (o: EncoderOptions) => `for ${o.inChannels}-channel images`;

export const ENCODER_REGISTRY = {
  convnet: {
    options: ["width"],
    inputConv: "blocks.0.conv.weight",
    describe: (o) => `a 4-block convnet of width ${o.width} (${8 * o.width!} features) ${input(o)}`,
    load: () =>
      import("../nn/convnet.ts").then((m) => (o) =>
        m.convNet({ inChannels: o.inChannels, width: o.width })
      ),
  },
  resnet18: {
    options: ["stem"],
    inputConv: "conv1.weight",
    describe: (o) => `a ResNet-18 with the ${o.stem} stem (512 features) ${input(o)}`,
    load: () =>
      import("../nn/resnet.ts").then((m) => (o) =>
        m.resnet18({ inChannels: o.inChannels, stem: o.stem })
      ),
  },
  resnet34: {
    options: ["stem"],
    inputConv: "conv1.weight",
    describe: (o) => `a ResNet-34 with the ${o.stem} stem (512 features) ${input(o)}`,
    load: () =>
      import("../nn/resnet.ts").then((m) => (o) =>
        m.resnet34({ inChannels: o.inChannels, stem: o.stem })
      ),
  },
  resnet50: {
    options: ["stem"],
    inputConv: "conv1.weight",
    describe: (o) => `a ResNet-50 with the ${o.stem} stem (2048 features) ${input(o)}`,
    load: () =>
      import("../nn/resnet.ts").then((m) => (o) =>
        m.resnet50({ inChannels: o.inChannels, stem: o.stem })
      ),
  },
} as const satisfies Record<string, EncoderKind>;

export type EncoderName = keyof typeof ENCODER_REGISTRY;
/** The encoder kinds, the registry's keys (settings.ts's --encoder choices). */
export const ENCODERS = Object.keys(ENCODER_REGISTRY) as readonly EncoderName[];

/** Everything needed to rebuild an encoder: its kind and the settings that kind is built from. */
export interface EncoderSpec extends EncoderOptions {
  kind: EncoderName;
}

function kindOf(name: EncoderName): EncoderKind {
  return ENCODER_REGISTRY[name];
}

/** The spec of the encoder a config trains on `inChannels`-channel images (only its kind's settings). */
export function encoderSpec(
  cfg: { encoder: EncoderName; width: number; stem: Stem },
  inChannels: number,
): EncoderSpec {
  const spec: EncoderSpec = { kind: cfg.encoder, inChannels };
  for (const key of kindOf(cfg.encoder).options) {
    if (key === "width") spec.width = cfg.width;
    else spec.stem = cfg.stem;
  }
  return spec;
}

/** The input channels of an encoder's weights (its input convolution's), or undefined. */
export function inChannelsOf(
  kind: EncoderName,
  state: Record<string, { shape: number[] }>,
): number | undefined {
  const w = state[kindOf(kind).inputConv];
  return w !== undefined && w.shape.length === 4 ? w.shape[1] : undefined;
}

/** One line: what the encoder of `spec` is. */
export function describeEncoder(spec: EncoderSpec): string {
  return kindOf(spec.kind).describe(spec);
}

/**
 * The metadata of an encoder file: `format` ("pt"), `encoder` (the kind),
 * `inChannels`, the kind's settings (`width` for the convnet, `stem` for the
 * ResNets) and the training `step` it holds. The trainer's encoder.safetensors
 * and `deno task export` both write exactly this.
 */
export function encoderMetadata(spec: EncoderSpec, step: number): Record<string, string> {
  const meta: Record<string, string> = {
    format: "pt",
    encoder: spec.kind,
    inChannels: String(spec.inChannels),
  };
  for (const key of kindOf(spec.kind).options) {
    const v = spec[key];
    if (v === undefined) throw new TypeError(`a ${spec.kind} spec needs its ${key}`);
    meta[key] = String(v);
  }
  meta.step = String(step);
  return meta;
}

/** A metadata key an encoder's spec is read from. */
export type SpecKey = "encoder" | "inChannels" | OptionKey;

/** An encoder file whose metadata names an unknown kind or a bad value. */
export class EncoderFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EncoderFileError";
  }
}

/**
 * The spec an encoder file's metadata records. A key the file lacks (files
 * written before it was recorded, or by other tools) is taken from `fallback`
 * and listed in `missing`; without a fallback for it, a missing key is an
 * EncoderFileError. Keys the kind is not built from are ignored (older files
 * record a stem for the convnet).
 */
export function specFromMetadata(
  meta: Record<string, string> | null,
  file: string,
  fallback: Partial<{ encoder: EncoderName; inChannels: number; width: number; stem: Stem }> = {},
): { spec: EncoderSpec; missing: SpecKey[] } {
  const m = meta ?? {};
  const missing: SpecKey[] = [];
  const read = <T>(key: SpecKey, parse: (v: string) => T | undefined, rule: string): T => {
    const raw = m[key];
    if (raw === undefined) {
      const v = fallback[key];
      if (v === undefined) {
        throw new EncoderFileError(
          `${file}: its metadata has no "${key}", so the file alone cannot rebuild the encoder`,
        );
      }
      missing.push(key);
      return v as T;
    }
    const v = parse(raw);
    if (v === undefined) {
      throw new EncoderFileError(`${file}: metadata ${key} "${raw}" is not ${rule}`);
    }
    return v;
  };
  const positive = (v: string) => /^[1-9]\d*$/.test(v) ? Number(v) : undefined;
  const kind = read<EncoderName>(
    "encoder",
    (v) => (ENCODERS as readonly string[]).includes(v) ? v as EncoderName : undefined,
    `one of ${ENCODERS.join(" | ")}`,
  );
  const spec: EncoderSpec = {
    kind,
    inChannels: read("inChannels", positive, "a channel count"),
  };
  for (const key of kindOf(kind).options) {
    if (key === "width") spec.width = read("width", positive, "a positive integer");
    else {
      spec.stem = read(
        "stem",
        (v) => (STEMS as readonly string[]).includes(v) ? v as Stem : undefined,
        STEMS.join(" or "),
      );
    }
  }
  return { spec, missing };
}

/** Every kind's builder, its module imported (what encoders.ts builds with). */
export async function loadEncoderBuilders(): Promise<Record<EncoderName, EncoderBuilder>> {
  return Object.fromEntries(
    await Promise.all(ENCODERS.map(async (k) => [k, await kindOf(k).load()])),
  );
}

/** Builds the encoder of `spec` (random init) with the builders loadEncoderBuilders gave. */
export function buildFromSpec(
  builders: Record<EncoderName, EncoderBuilder>,
  spec: EncoderSpec,
): Encoder {
  for (const key of kindOf(spec.kind).options) {
    if (spec[key] === undefined) throw new TypeError(`a ${spec.kind} spec needs its ${key}`);
  }
  return builders[spec.kind](spec);
}
