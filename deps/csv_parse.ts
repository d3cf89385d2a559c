// csv-parse's synchronous parser (src/data/csv_images.ts). Pinned here and nowhere else.
export { parse } from "npm:csv-parse@7.0.3/sync";
