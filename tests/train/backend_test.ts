// --backend: auto picks NCCL for a rank on a GPU and Gloo for one on the CPU;
// a backend that cannot take the rank's tensors is one ConfigError with the fix;
// --backend gloo keeps --device auto on the CPU.
import { assertEquals, assertThrows } from "../helpers/asserts.ts";
import { ConfigError, validate } from "../../src/train/settings.ts";
import { rankBackend, rankDevice } from "../../src/distributed/world.ts";

Deno.test("rankBackend: auto follows the device; gloo on a GPU and nccl on the CPU are refused with the fix", () => {
  assertEquals(rankBackend("auto", "cpu"), "gloo");
  assertEquals(rankBackend("auto", "cuda:1"), "nccl");
  assertEquals(rankBackend("gloo", "cpu"), "gloo");
  assertEquals(rankBackend("nccl", "cuda:0"), "nccl");
  assertThrows(() => rankBackend("gloo", "cuda:0"), ConfigError, "use --backend nccl (or auto)");
  assertThrows(() => rankBackend("nccl", "cpu"), ConfigError, "give --device cuda");
  assertThrows(
    () => rankBackend("mpi", "cpu"),
    ConfigError,
    "--backend must be auto, gloo or nccl",
  );
  assertEquals(rankDevice("auto", 0, "gloo"), "cpu");
  assertEquals(validate({}).backend, "auto");
  assertThrows(() => validate({ backend: "mpi" }), ConfigError, "--backend must be one of");
});
