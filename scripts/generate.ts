// Writes the files derived from the input table, so that documented names and defaults cannot
// drift from what the code reads. test/unit/generated.test.ts fails when they are stale.
import { writeFileSync } from 'node:fs';
import { renderActionYml } from './action-yml.ts';

writeFileSync('action.yml', renderActionYml());
