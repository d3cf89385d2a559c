// dtypes: the one table of what the toolkit knows about each libtorch dtype.
// Everything else (codes, sizes, typed arrays, safetensors names, which are
// floating) is read from it.

/**
 * One row per dtype, with PyTorch's name. `code` is tt.h's tt_dtype
 * (c10::ScalarType's value; tests/ffi/symbols_test.ts compares them), `bytes`
 * the element size, `floating` whether it is a floating-point type (Module.to()
 * casts only those), `safetensors` the format's name for it, `array` the typed
 * array that holds its elements: float16 and bfloat16 as raw bits in a
 * Uint16Array, bool as bytes. Where two rows share an array type, the first is
 * the dtype that array is taken to hold (Uint8Array: uint8, Uint16Array: float16).
 */
export const DTYPES = [
  { name: "uint8", code: 0, bytes: 1, floating: false, safetensors: "U8", array: Uint8Array },
  { name: "int8", code: 1, bytes: 1, floating: false, safetensors: "I8", array: Int8Array },
  { name: "int16", code: 2, bytes: 2, floating: false, safetensors: "I16", array: Int16Array },
  { name: "int32", code: 3, bytes: 4, floating: false, safetensors: "I32", array: Int32Array },
  { name: "int64", code: 4, bytes: 8, floating: false, safetensors: "I64", array: BigInt64Array },
  { name: "float16", code: 5, bytes: 2, floating: true, safetensors: "F16", array: Uint16Array },
  { name: "float32", code: 6, bytes: 4, floating: true, safetensors: "F32", array: Float32Array },
  { name: "float64", code: 7, bytes: 8, floating: true, safetensors: "F64", array: Float64Array },
  { name: "bool", code: 11, bytes: 1, floating: false, safetensors: "BOOL", array: Uint8Array },
  { name: "bfloat16", code: 15, bytes: 2, floating: true, safetensors: "BF16", array: Uint16Array },
] as const;

type Row = (typeof DTYPES)[number];
export type DTypeName = Row["name"];
/** The safetensors names of the dtypes above. */
export type SafetensorsName = Row["safetensors"];
/** The typed arrays of the table's `array` column. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array;
export type DTypeInfo = Row;

/** dtype name -> code (c10::ScalarType). */
export const DType = Object.fromEntries(DTYPES.map((d) => [d.name, d.code])) as {
  readonly [D in Row as D["name"]]: D["code"];
};

const BY_NAME = new Map<string, Row>(DTYPES.map((d) => [d.name, d]));
const BY_CODE = new Map<number, Row>(DTYPES.map((d) => [d.code, d]));
const BY_SAFETENSORS = new Map<string, Row>(DTYPES.map((d) => [d.safetensors, d]));

/** Bytes per element. */
export const DTYPE_BYTES = Object.fromEntries(DTYPES.map((d) => [d.name, d.bytes])) as Record<
  DTypeName,
  number
>;

/** The table's row of a dtype. */
export function dtypeInfo(name: DTypeName | string): DTypeInfo {
  const row = BY_NAME.get(name);
  if (row === undefined) {
    throw new TypeError(
      `unknown dtype "${name}"; expected one of ${Object.keys(DType).join(", ")}`,
    );
  }
  return row;
}

export function dtypeCode(name: DTypeName | string): number {
  return dtypeInfo(name).code;
}

export function dtypeName(code: number): DTypeName {
  const row = BY_CODE.get(code);
  if (row === undefined) throw new TypeError(`unsupported dtype code ${code}`);
  return row.name;
}

/** The dtype a safetensors element type holds here, or undefined when libtorch has none. */
export function dtypeOfSafetensors(name: string): DTypeName | undefined {
  return BY_SAFETENSORS.get(name)?.name;
}

/** The dtype a typed array holds (Uint16Array is taken as raw float16/bfloat16 bits). */
export function dtypeOfArray(a: TypedArray): DTypeName {
  const row = DTYPES.find((d) => a instanceof d.array);
  if (row === undefined) {
    throw new TypeError(
      `a ${(a as object).constructor.name} holds no dtype here; use one of ` +
        `${[...new Set(DTYPES.map((d) => d.array.name))].join(", ")}`,
    );
  }
  return row.name;
}

/** A zeroed typed array for n elements of `dtype` (raw bits for float16 and bfloat16). */
export function newTypedArray(dtype: DTypeName, n: number): TypedArray {
  return new (dtypeInfo(dtype).array)(n);
}
