/// <reference lib="deno.worker" />
/**
 * Worker side of the decode pool (decode_pool.ts): reads and decodes the
 * files it is sent with the same code the main thread uses.
 */
import { decodeChunk, type DecodeJob, type DecodeResult } from "./decode_pool.ts";
import { describeError } from "./errors.ts";

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
