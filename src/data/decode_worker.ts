/// <reference lib="deno.worker" />
/**
 * Worker side of the decode pool (decode_pool.ts): reads and decodes the
 * files it is sent with the same code the main thread uses.
 */
import { DecodeFailure, decodeFile, type DecodeSpec } from "./decode.ts";
import { describeError } from "./errors.ts";

/** Main thread -> worker: a chunk of consecutive files, `first` is the index of paths[0]. */
export interface DecodeJob {
  first: number;
  paths: string[];
  spec: DecodeSpec;
}

/**
 * Worker -> main thread: all images of the chunk back to back, or the first
 * failing index. `failure` false means an unexpected error, not bad data.
 */
export type DecodeResult =
  | { first: number; ok: true; data: Uint8Array<ArrayBuffer> }
  | { first: number; ok: false; index: number; message: string; failure: boolean };

self.onmessage = async (e: MessageEvent<DecodeJob>) => {
  const { first, paths, spec } = e.data;
  const per = spec.channels * spec.height * spec.width;
  const data = new Uint8Array(paths.length * per);
  for (let i = 0; i < paths.length; i++) {
    try {
      data.set(await decodeFile(paths[i], spec), i * per);
    } catch (err) {
      const reply: DecodeResult = {
        first,
        ok: false,
        index: first + i,
        message: describeError(err),
        failure: err instanceof DecodeFailure,
      };
      self.postMessage(reply);
      return;
    }
  }
  const reply: DecodeResult = { first, ok: true, data };
  // Transfer, not copy: the chunk buffer is not used here again.
  self.postMessage(reply, [data.buffer]);
};
