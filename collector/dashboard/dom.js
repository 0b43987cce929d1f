// Typed element lookups: a missing element, or one of another kind, is a clear error
// where the page is wired up rather than a null read later.

/**
 * @template {Element} T
 * @param {Element | null} found
 * @param {string} what
 * @param {{ new (): T, prototype: T }} type
 * @returns {T}
 */
function checked(found, what, type) {
  if (found === null) throw new Error(`nodeflight dashboard: no element ${what} in the page`);
  if (!(found instanceof type)) throw new Error(`nodeflight dashboard: ${what} is a <${found.localName}>, not a ${type.name}`);
  return found;
}

/**
 * The page's element with this id, which must be a `type` (HTMLElement for any).
 * @template {Element} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} type
 * @returns {T}
 */
export function $(id, type) {
  return checked(document.getElementById(id), `#${id}`, type);
}

/**
 * The first element under `root` matching `selector`, which must be a `type`.
 * @template {Element} T
 * @param {ParentNode} root
 * @param {string} selector
 * @param {{ new (): T, prototype: T }} type
 * @returns {T}
 */
export function find(root, selector, type) {
  return checked(root.querySelector(selector), selector, type);
}
