// Parses and validates contracts/asyncapi.yaml (or the file named as the first argument) with the official
// AsyncAPI parser, resolving its references to ../schemas/*.json. Prints each diagnostic; exits 1 when any is
// an error, so CI (and the unit test that runs this script) fails on a document the parser does not accept.
import { Parser, fromFile } from '@asyncapi/parser';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const path = resolve(process.argv[2] ?? resolve(here, '..', 'asyncapi.yaml'));
const ERROR = 0; // DiagnosticSeverity.Error

const { document, diagnostics } = await fromFile(new Parser(), path).parse();
for (const diagnostic of diagnostics) {
  const where = diagnostic.path.join('.') || '(document)';
  const kind = diagnostic.severity === ERROR ? 'error' : 'warning';
  console.log(`${kind} ${diagnostic.code} at ${where}: ${diagnostic.message}`);
}
const errors = diagnostics.filter((diagnostic) => diagnostic.severity === ERROR);
if (document === undefined || errors.length > 0) {
  console.log(`${path}: ${errors.length} error(s); not a valid AsyncAPI document`);
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ` +
  `${document.operations().length} operations, ${document.allMessages().length} messages`);
