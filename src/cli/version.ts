// memaudit's own version, read once from package.json (beside src/ and dist/ alike), for what
// memaudit writes about itself: the HTML report's footer.
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
