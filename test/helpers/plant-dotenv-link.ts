/**
 * Loaded with `node --import` before the CLI: as a local attacker who guessed the process id
 * would, plants a symbolic link to PLANT_VICTIM at `<PLANT_DOTENV>.<pid>.tmp`, the temporary
 * name the dotenv file was once written under. A writer that follows it overwrites the victim.
 */
import { symlinkSync } from 'node:fs';

const dotenv = process.env.PLANT_DOTENV;
const victim = process.env.PLANT_VICTIM;
if (dotenv && victim) symlinkSync(victim, `${dotenv}.${process.pid}.tmp`);
