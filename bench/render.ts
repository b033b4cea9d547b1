// npm run bench:render: rewrites bench/RESULTS.md from the committed
// bench/results.json, so a change to the report needs no new run (the
// figures are the run's, untouched).
import { readFileSync, writeFileSync } from 'node:fs';
import { markdown } from './report.js';
import type { Results } from './run.js';
import { RESULTS_JSON, RESULTS_MD } from './settings.js';

const results = JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as Results;
writeFileSync(RESULTS_MD, markdown(results));
process.stderr.write(`wrote ${RESULTS_MD} from ${RESULTS_JSON}\n`);
