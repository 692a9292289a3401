#!/usr/bin/env node
// The CLI runs the compiled code (built by `npm install` through the `prepare` script, or `npm run build`).
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
