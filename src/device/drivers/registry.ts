/**
 * Builds a driver registry keyed by id: frozen, without a prototype (so `toString` is never a
 * driver), and refusing two drivers with one id.
 */
export function registry<D extends { readonly id: string }>(kind: string, drivers: readonly D[]): Readonly<Record<string, D>> {
  const byId = Object.create(null) as Record<string, D>;
  for (const d of drivers) {
    if (Object.hasOwn(byId, d.id)) throw new Error(`two ${kind} drivers are named "${d.id}"`);
    byId[d.id] = d;
  }
  return Object.freeze(byId);
}
