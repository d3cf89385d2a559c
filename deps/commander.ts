// commander with inferred option types (@commander-js/extra-typings), for scripts/.
// extra-typings re-exports commander's runtime; its peer dependency is pinned
// by importing it here, so both resolve to 15.1.0. Pinned here and nowhere else.
// deno-lint-ignore no-import-prefix -- deps/ is where inline npm: pins belong (no import map)
import "npm:commander@15.1.0";
export { Command, InvalidArgumentError, Option } from "npm:@commander-js/extra-typings@15.1.0";
