/// <reference lib="deno.worker" />
/**
 * Worker side of the decode pool (decode_pool.ts): reads and decodes the
 * files it is sent with the same code the main thread uses.
 */
import { type DecodeSpec } from "./decode.ts";
import { decodeChunk, type DecodedChunk } from "./decode_pool.ts";
import { describeError } from "./errors.ts";

/** Main thread -> worker: a chunk of consecutive files, `first` is the index of paths[0]. */
export interface DecodeJob {
  first: number;
  paths: string[];
  spec: DecodeSpec;
}

/**
 * Worker -> main thread: the decoded chunk (its good images back to back,
 * its corrupt files by index), or an unexpected error (not bad data) on file
 * `index`, which ends the whole decode.
 */
export type DecodeResult =
  | { ok: true; chunk: DecodedChunk }
  | { ok: false; first: number; index: number; message: string };

self.onmessage = async (e: MessageEvent<DecodeJob>) => {
  const { first, paths, spec } = e.data;
  try {
    const chunk = await decodeChunk(paths, first, spec);
    const reply: DecodeResult = { ok: true, chunk };
    // Transfer, not copy: the chunk buffer is not used here again.
    self.postMessage(reply, [chunk.data.buffer]);
  } catch (err) {
    const index = (err as { index?: number }).index ?? first;
    const reply: DecodeResult = { ok: false, first, index, message: describeError(err) };
    self.postMessage(reply);
  }
};
