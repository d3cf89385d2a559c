// cli-progress: the live bar of the trainer (src/train/progress.ts). Pinned here and nowhere else.
// The package is CommonJS without types: its default export is the module object.
export { default } from "npm:cli-progress@3.12.0";
