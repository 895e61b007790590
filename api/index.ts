// api/: the contracts between meshlet's processes and nothing else. The routing table (the IR
// that translation produces and agents execute), its validation, the names, ports and labels of
// DESIGN.md, and the shared error base. It imports nothing of ours, so every other folder may
// depend on it and it can never drag a process's implementation along with it.
export * from './names.ts';
export * from './errors.ts';
export * from './routing-table.ts';
export * from './version.ts';
export * from './validate.ts';
export * from './wire.ts';
export * from './identity.ts';
export * from './pod-annotations.ts';
export * from './pod-env.ts';
export * from './init-args.ts';
