/**
 * The readable views of the primitives for Deno's `console.log` and
 * `Deno.inspect` and for Node's `util.inspect`.
 *
 * A class installs its view from a private static field,
 * `static #inspect = /* @__PURE__ *\/ inspectView(this, "Lock", view)`,
 * rather than with a computed `[Symbol.for(...)]` method: a computed key is
 * code a bundler must keep, so a module with one stays in a bundle that never
 * uses its class, while a field initialiser marked pure is dropped with the
 * class and kept with it. The methods are defined on the prototype, not
 * enumerable, so neither the published members nor `deno doc` show them.
 *
 * @module
 */

/** The inspect function each runtime hands to a custom view. */
type Inspect = (value: unknown, options?: unknown) => string;

/**
 * Installs `view` as the custom inspect view of `cls`'s instances, for Deno
 * (`Symbol.for("Deno.customInspect")`) and Node
 * (`Symbol.for("nodejs.util.inspect.custom")`), shown as `name { ...view }`.
 * Without `view`, `cls` is a built-in subclass that keeps its base class's
 * view under its own name. The name is given, not read from the class,
 * because minifiers rename classes; a user's subclass shows its
 * constructor's name.
 *
 * @param cls The class.
 * @param name The class's name, as users wrote it.
 * @param view The state to show, as a plain object; omitted for a subclass.
 * @returns `true`, to be kept in the class's private static field.
 */
export function inspectView<C extends abstract new (...args: never[]) => object>(
  cls: C,
  name: string,
  view?: (self: InstanceType<C>) => object,
): true {
  const nameKey = Symbol.for("baton.inspectName");
  Object.defineProperty(cls.prototype, nameKey, { value: name });
  if (view === undefined) return true;
  const render = (self: InstanceType<C>, inspect: Inspect, options: unknown): string => {
    const own = Object.hasOwn(Object.getPrototypeOf(self), nameKey);
    const shown = own ? (self as Record<symbol, string>)[nameKey] : self.constructor.name;
    return `${shown} ${inspect(view(self), options)}`;
  };
  Object.defineProperty(cls.prototype, Symbol.for("Deno.customInspect"), {
    value(this: InstanceType<C>, inspect: Inspect, options?: unknown): string {
      return render(this, inspect, options);
    },
    configurable: true,
    writable: true,
  });
  Object.defineProperty(cls.prototype, Symbol.for("nodejs.util.inspect.custom"), {
    value(this: InstanceType<C>, _depth: number, options: unknown, inspect: Inspect): string {
      return render(this, inspect, options);
    },
    configurable: true,
    writable: true,
  });
  return true;
}
