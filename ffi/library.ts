// Loads the shim once. TORCH_SHIM_PATH overrides the path of the library
// (default: build/libtt.so, written by `deno task build`; BYOL_BUILD_DIR/libtt.so
// when that is set, see ffi/shim_path.ts).
import { symbols } from "./symbols.ts";
import { shimPath } from "./shim_path.ts";

/** The repository this module belongs to, wherever the importing script lives. */
const REPO_DIR = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

export { shimPath };

function open(): Deno.DynamicLibrary<typeof symbols> {
  const path = shimPath();
  try {
    Deno.statSync(path);
  } catch (cause) {
    throw new Error(
      `the libtorch shim is not built: ${path} does not exist. ` +
        `Build it with \`cd ${REPO_DIR} && deno task build\` ` +
        `(from any folder: \`deno task --config ${REPO_DIR}/deno.json build\`), ` +
        "or point TORCH_SHIM_PATH at a built libtt.so.",
      { cause },
    );
  }
  try {
    return Deno.dlopen(path, symbols);
  } catch (cause) {
    throw new Error(
      `could not load the libtorch shim ${path}: ${(cause as Error).message}. ` +
        `If libtorch moved or was upgraded, rebuild with \`cd ${REPO_DIR} && deno task build\`; ` +
        "a shim built against a PyTorch install needs that install in place.",
      { cause },
    );
  }
}

type Raw = Deno.DynamicLibrary<typeof symbols>["symbols"];

// Deno types i64 parameters as bigint, but it takes plain numbers too (checked
// in tests/ffi), and numbers spare a BigInt allocation on every call.
type LooseArgs<A> = { [I in keyof A]: A[I] extends bigint ? number | bigint : A[I] };
type Loose<S> = {
  [K in keyof S]: S[K] extends (...args: infer A) => infer R ? (...args: LooseArgs<A>) => R
    : S[K];
};

/** The bound symbols of the shim, opened when this module is first imported. */
export const lib: Loose<Raw> = open().symbols as unknown as Loose<Raw>;

// Keep freed CPU tensor memory mapped between steps (the shim's caching CPU
// allocator, see setCpuMemoryCaching in ffi/runtime.ts); TORCH_SHIM_MALLOC=default
// turns the cache off.
function envOrUndefined(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env for it: the default applies
  }
}
lib.tt_cpu_memory_caching(
  envOrUndefined("TORCH_SHIM_MALLOC") === "default" ? 0 : 1,
  new Int32Array(1),
);
