/** examples/isolation: module-level state. Every thread that imports this module gets its own copy. */
export const notes: string[] = [];
