// Writes the files derived from the input table, so that documented names and defaults cannot
// drift from what the code reads. CI regenerates them and fails when the result differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderActionYml } from './action-yml.ts';
import { withInputTables } from './readme-tables.ts';
import { renderGitlabTemplates } from './gitlab-templates.ts';

writeFileSync('action.yml', renderActionYml());
writeFileSync('README.md', withInputTables(readFileSync('README.md', 'utf8')));

// The GitLab templates' `spec: inputs` and job variables, from the same table.
for (const [path, text] of Object.entries(await renderGitlabTemplates())) writeFileSync(path, text);
