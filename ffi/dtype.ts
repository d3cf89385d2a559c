// dtypes as c10::ScalarType codes, with PyTorch's names.

export const DType = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
} as const;

export type DTypeName = keyof typeof DType;

const NAMES = new Map<number, DTypeName>(
  Object.entries(DType).map(([k, v]) => [v, k as DTypeName]),
);

/** Bytes per element. */
export const DTYPE_BYTES: Record<DTypeName, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  bool: 1,
  bfloat16: 2,
};

export function dtypeCode(name: DTypeName | string): number {
  const code = (DType as Record<string, number>)[name];
  if (code === undefined) {
    throw new TypeError(
      `unknown dtype "${name}"; expected one of ${Object.keys(DType).join(", ")}`,
    );
  }
  return code;
}

export function dtypeName(code: number): DTypeName {
  const name = NAMES.get(code);
  if (name === undefined) throw new TypeError(`unsupported dtype code ${code}`);
  return name;
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array;

/** The dtype a typed array holds (Uint16Array is taken as raw float16/bfloat16 bits). */
export function dtypeOfArray(a: TypedArray): DTypeName {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Int16Array) return "int16";
  return "float16";
}
