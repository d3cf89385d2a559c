// The method registry: every self-supervised method the trainer runs, one line
// each: its name (settings.ts's --method choices are this table's keys) and
// the lazy import of its registration file, whose default export is a
// MethodRegistration (src/method/method.ts: title, describe, recipe, build).
// TypeScript checks that every line's file exports one.
//
// Pure data: this module loads no libtorch (the imports run only when called),
// so settings.ts takes the names from here. methods.ts loads the files.
import type { MethodRegistration } from "../method/method.ts";
export type { MethodRegistration, MethodSettings } from "../method/method.ts";

export const METHOD_REGISTRY = {
  byol: () => import("../byol/registration.ts"),
  simsiam: () => import("../simsiam/registration.ts"),
} as const satisfies Record<string, () => Promise<{ default: MethodRegistration }>>;

export type MethodName = keyof typeof METHOD_REGISTRY;
/** The method names, the registry's keys (settings.ts's --method choices). */
export const METHODS = Object.keys(METHOD_REGISTRY) as readonly MethodName[];
