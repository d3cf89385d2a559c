// resvg-wasm: SVG -> PNG for the run plots (src/report/plots.ts). Pinned here and nowhere else.
export { initWasm, Resvg } from "npm:@resvg/resvg-wasm@2.6.2";

/**
 * The .wasm file inside the npm package, as a file: URL into Deno's npm cache
 * (or node_modules), wherever the importing script lives.
 */
export function resvgWasmUrl(): URL {
  let url: URL;
  try {
    url = new URL(import.meta.resolve("npm:@resvg/resvg-wasm@2.6.2/index_bg.wasm"));
  } catch {
    // Older resolvers refuse the subpath; the file sits next to the package's entry module.
    url = new URL("index_bg.wasm", import.meta.resolve("npm:@resvg/resvg-wasm@2.6.2"));
  }
  if (url.protocol !== "file:") {
    throw new Error(`resvg-wasm: cannot locate index_bg.wasm on disk (resolved to ${url.href})`);
  }
  return url;
}
