#!/usr/bin/env node
// Entry point of the `meshlet` binary. Node >= 22.19 runs the TypeScript sources directly
// (type stripping), so there is no build step between a change and running it.
//
// This file is plain JavaScript that any Node parses, so that an old Node (the machine's, when
// meshlet is run without npx) gets one clear sentence instead of a syntax error. The project
// pins Node 24 as a devDependency; `npx meshlet` and `npm run` put it first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`meshlet needs Node >= 22.19 (this is ${process.versions.node}). Run it as 'npx meshlet ...' from the checkout, which uses the project's Node 24.\n`);
  process.exit(2);
}

// A closed stdout (`meshlet translate ... | head`) ends the command quietly, as other CLIs do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
