// The Gloo unit of the shim (native/dist_gloo.cpp) may be compiled against
// Gloo headers of another commit than the Gloo inside libtorch (pip's wheels
// ship none; native/third_party/gloo or Debian's libgloo-dev stand in). That is
// safe only while the unit uses no Gloo function, vtable or typeinfo, and reads
// no Gloo struct: the build checks the first on the compiled object
// (glooObjectProblems over `nm -C`, the unit built without inlining), this
// file checks the checker, the object the loaded shim was built from, and the
// unit's source for the second.
import { join } from "node:path";
import { assert, assertEquals } from "./helpers/asserts.ts";
import { glooObjectProblems } from "../scripts/build_native.ts";
import { buildDir, readShimInfo } from "../ffi/shim_path.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const info = readShimInfo();
const withGloo = info?.distributed?.gloo === true;

async function nm(obj: string): Promise<string> {
  const r = await new Deno.Command("nm", { args: ["-C", obj], stdout: "piped", stderr: "piped" })
    .output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

Deno.test("glooObjectProblems: Gloo's functions, vtables and typeinfo are problems; pointers to Gloo classes and private constants are not", () => {
  const clean = [
    "                 U c10d::ProcessGroupGloo::createDefaultDevice()",
    "0000000000000000 W std::vector<std::shared_ptr<gloo::transport::Device>, " +
    "std::allocator<std::shared_ptr<gloo::transport::Device> > >::~vector()",
    "0000000000000000 W std::__shared_count<(__gnu_cxx::_Lock_policy)2>::~__shared_count()",
    "00000000000011f0 r gloo::kNoTimeout",
    "0000000000000010 b gloo::someLocal",
  ].join("\n");
  assertEquals(glooObjectProblems(clean), []);
  const bad = [
    "                 U gloo::Context::getDevice()",
    "0000000000000000 W gloo::transport::Device::str[abi:cxx11]() const",
    "0000000000000000 V vtable for gloo::rendezvous::Store",
    "                 U typeinfo for gloo::transport::Device",
    "0000000000000000 W non-virtual thunk to gloo::rendezvous::Store::~Store()",
  ].join("\n");
  assertEquals(glooObjectProblems(bad).length, 5);
});

Deno.test({
  name: "the loaded shim's dist_gloo.o calls and defines no Gloo code",
  ignore: !withGloo,
  fn: async () => {
    const obj = join(buildDir(), "obj", "dist_gloo.o");
    assertEquals(glooObjectProblems(await nm(obj)), []);
  },
});

Deno.test({
  name: "the check catches a unit that calls into a Gloo object (same headers, same flags)",
  ignore: !withGloo || info?.distributed?.glooInclude === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "byol-gloo-" });
    try {
      const src = join(dir, "touch.cpp");
      await Deno.writeTextFile(
        src,
        "#include <gloo/context.h>\n" +
          "bool has_device(gloo::Context& c) { return c.getDevice() != nullptr; }\n",
      );
      const obj = join(dir, "touch.o");
      const r = await new Deno.Command(Deno.env.get("CXX") ?? "g++", {
        args: [
          `-std=${info!.cxxStd ?? "c++17"}`,
          "-O0",
          "-fno-inline",
          `-I${info!.distributed!.glooInclude}`,
          "-c",
          src,
          "-o",
          obj,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(r.success, new TextDecoder().decode(r.stderr));
      const problems = glooObjectProblems(await nm(obj));
      assert(problems.some((p) => /gloo::Context::getDevice/.test(p)), problems.join("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("dist_gloo.cpp names Gloo only as std::shared_ptr<::gloo::transport::Device>", async () => {
  // A field read of a Gloo struct would leave no symbol: the source is the check.
  const text = await Deno.readTextFile(join(ROOT, "native/dist_gloo.cpp"));
  const code = text.split("\n").filter((l) => !/^\s*\/\//.test(l)).join("\n");
  const allowed = "std::shared_ptr<::gloo::transport::Device>";
  const uses = code.split(allowed).length - 1;
  const other = [...code.split(allowed).join("").matchAll(/(?<![\w])(?:::)?gloo::[\w:]*/g)]
    .map((m) => m[0]);
  assertEquals(other, [], `dist_gloo.cpp may name Gloo only as ${allowed}`);
  assert(uses > 0 || /create_default/.test(code), "the unit builds its devices somehow");
});
