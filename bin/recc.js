#!/usr/bin/env node
// The `recc` executable: registers tsx's loader so the TypeScript sources run as they are (no build
// step between `npm install` and `npx recc`), then hands argv to the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = main(process.argv.slice(2));
