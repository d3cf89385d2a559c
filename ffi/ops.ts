// The shim's op codes and mode codes, mirroring the enums of native/tt.h name
// for name: a key here is its tt.h name without the enum's prefix, in camelCase
// (Unary.logicalNot is TT_LOGICAL_NOT, SampleMode.bilinear TT_SAMPLE_BILINEAR).
// tests/ffi/symbols_test.ts checks every enum against its table. dtype codes
// (tt_dtype) are in ffi/dtype.ts's table.

export const Unary = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  rsqrt: 4,
  abs: 5,
  relu: 6,
  sigmoid: 7,
  tanh: 8,
  sin: 9,
  cos: 10,
  floor: 11,
  ceil: 12,
  round: 13,
  sign: 14,
  square: 15,
  reciprocal: 16,
  logicalNot: 17,
  isfinite: 18,
  trunc: 19,
  log1p: 20,
  expm1: 21,
} as const;

export const Binary = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  eq: 7,
  ne: 8,
  gt: 9,
  ge: 10,
  lt: 11,
  le: 12,
  remainder: 13,
  atan2: 14,
  logicalAnd: 15,
  logicalOr: 16,
  rsub: 17,
  floorDivide: 18,
} as const;

export const InPlace = {
  add_: 0,
  sub_: 1,
  mul_: 2,
  div_: 3,
  copy_: 4,
  lerp_: 5,
  fill_: 6,
  zero_: 7,
  clampMin_: 8,
  clampMax_: 9,
  relu_: 10,
} as const;

export const Reduce = {
  sum: 0,
  mean: 1,
  amax: 2,
  amin: 3,
  prod: 4,
  std: 5,
  var: 6,
  logsumexp: 7,
  all: 8,
  any: 9,
} as const;

export const Like = { zeros: 0, ones: 1, full: 2, empty: 3, rand: 4, randn: 5 } as const;

/** tt_rand and tt_rand_gen: uniform on [0, 1) or standard normal. */
export const RandKind = { uniform: 0, normal: 1 } as const;

/** tt_contiguous's argument and tt_memory_format's answer. */
export const MemoryFormat = { contiguous: 0, channelsLast: 1 } as const;

/** tt_cross_entropy's reduction. */
export const Reduction = { none: 0, mean: 1, sum: 2 } as const;

/** tt_grid_sample's mode. */
export const SampleMode = { bilinear: 0, nearest: 1, bicubic: 2 } as const;

/** tt_grid_sample's padding mode. */
export const SamplePadding = { zeros: 0, border: 1, reflection: 2 } as const;

/** tt_interpolate's mode. */
export const InterpMode = { nearest: 0, bilinear: 1, bicubic: 2, area: 3 } as const;

/** tt_pad's mode. */
export const PadMode = { constant: 0, reflect: 1, replicate: 2, circular: 3 } as const;

/** The device type of the tt_autocast_* calls. */
export const DeviceType = { cpu: 0, cuda: 1 } as const;

/** tt_color_jitter_cpu's order codes: the columns of its factors. */
export const JitterOp = { brightness: 0, contrast: 1, saturation: 2, hue: 3 } as const;

/** tt_set_float32_matmul_precision's modes (tt_matmul_precision), torch's names. */
export const MatmulPrecision = { highest: 0, high: 1, medium: 2 } as const;

/** tt_advise_rows's advice (tt_advice): madvise's MADV_* of the same names. */
export const Advice = { normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4 } as const;

/** c10d reduce ops of tt_pg_all_reduce (tt_reduce_kind); average is a sum divided by the world size. */
export const ReduceKind = { sum: 0, product: 1, min: 2, max: 3, avg: 4 } as const;
