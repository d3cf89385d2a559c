// @bufbuild/protobuf's wire format (BinaryWriter, BinaryReader, WireType), for the TensorBoard
// event files (src/io/tfevents.ts). Pinned here and nowhere else.
export { BinaryReader, BinaryWriter, WireType } from "npm:@bufbuild/protobuf@2.17.0/wire";
