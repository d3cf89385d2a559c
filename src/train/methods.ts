// The methods, loaded: every line of the registry (method_registry.ts) resolved
// to its registration (title, describe, recipe, build; its file imports the
// method's classes, so libtorch). Resolved once, when this module is first
// imported, so config resolution (recipes) and run building stay synchronous.
import type { Encoder, Method } from "../method/method.ts";
import {
  METHOD_REGISTRY,
  type MethodName,
  type MethodRegistration,
  METHODS,
  type MethodSettings,
} from "./method_registry.ts";

const LOADED = Object.fromEntries(
  await Promise.all(METHODS.map(async (name) => [name, (await METHOD_REGISTRY[name]()).default])),
) as Record<MethodName, MethodRegistration>;

/** The registration of method `name` (a registry key; settings.ts checked it). */
export function methodRegistration(name: MethodName): MethodRegistration {
  const r = LOADED[name];
  if (r === undefined) {
    throw new TypeError(`unknown method "${name}"; known: ${METHODS.join(", ")}`);
  }
  return r;
}

/** How a method is named in messages ("BYOL", "SimSiam"). */
export function methodTitle(name: MethodName): string {
  return methodRegistration(name).title;
}

/** One line: the method a config trains. */
export function describeMethod(name: MethodName, s: MethodSettings): string {
  return methodRegistration(name).describe(s);
}

/**
 * The settings a method's recipe sets over `preset` (the preset's settings,
 * defaults included, for values derived from them such as the batch size).
 */
export function methodRecipe(
  name: MethodName,
  preset: Record<string, unknown>,
): Record<string, number | string> {
  return methodRegistration(name).recipe(preset);
}

/** The method a config trains over `encoder` (already on `device`). */
export function buildMethod(
  cfg: { method: MethodName } & MethodSettings,
  encoder: Encoder,
  opts: { device: string; syncBatchNorm: boolean },
): Method {
  return methodRegistration(cfg.method).build(encoder, cfg, opts);
}
