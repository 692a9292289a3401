// Rewrites the generated part of docs/configuration.md from the JSON Schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { withCurrentReference } from '../src/config/reference-doc.js';

const file = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(file, withCurrentReference(readFileSync(file, 'utf8')));
process.stdout.write('docs/configuration.md updated\n');
