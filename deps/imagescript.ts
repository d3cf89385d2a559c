// imagescript: PNG/JPEG decoding and encoding. Pinned here and nowhere else.
// It loads a native addon when evaluated (needs --allow-ffi), so library code
// imports this module dynamically, on first use (src/data/decode.ts).
export { Image } from "npm:imagescript@1.3.1";
