// umap-js (PAIR-code): UMAP in plain JavaScript, for the embedding picture
// (src/report/embedding.ts). Pinned here and nowhere else.
export { UMAP } from "npm:umap-js@1.4.0";
