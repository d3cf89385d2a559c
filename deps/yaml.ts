// yaml: training configs (scripts/train.ts). Pinned here and nowhere else.
export { parse } from "npm:yaml@2.9.1";
