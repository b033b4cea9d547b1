// npm run bench:render: rewrites bench/RESULTS.md from the committed
// bench/results.json and the current bench/NOTES.md, so notes edited after
// a run do not need another run (the figures are the run's, untouched).
import { readFileSync, writeFileSync } from 'node:fs';
import { markdown, type Results } from './report.js';
import { NOTES_MD, RESULTS_JSON, RESULTS_MD } from './settings.js';

const results = JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as Results;
writeFileSync(RESULTS_MD, markdown(results, readFileSync(NOTES_MD, 'utf8')));
process.stderr.write(`wrote ${RESULTS_MD} from ${RESULTS_JSON}\n`);
