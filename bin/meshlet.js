#!/usr/bin/env node
// Entry point of the `meshlet` binary. Node >= 22.19 runs the TypeScript sources directly
// (type stripping), so there is no build step between a change and running it.
import { main } from '../cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
