import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { searchAttributeFlags, searchAttributeTypes } from '../../common/search-attributes.ts';

const composeFile = new URL('../../docker-compose.yml', import.meta.url);

describe('the search attributes the workflows set are registered wherever a Temporal server is set up', () => {
  it('names BusinessDate, EtlStatus and EtlTable, all Keyword (the Web UI filters on them)', () => {
    expect(searchAttributeTypes).toEqual({ BusinessDate: 'Keyword', EtlStatus: 'Keyword', EtlTable: 'Keyword' });
    expect(searchAttributeFlags()).toEqual(['--search-attribute', 'BusinessDate=Keyword', '--search-attribute', 'EtlStatus=Keyword', '--search-attribute', 'EtlTable=Keyword']);
  });

  it("docker-compose.yml's temporal-setup job creates the same list (the production rehearsal runs that job)", async () => {
    const compose = await readFile(composeFile, 'utf8');
    const loop = /for name in ([\w ]+); do\s+if ! printf[^\n]*\n\s+temporal operator search-attribute create [^\n]*--type Keyword/.exec(compose);
    expect(loop, 'the temporal-setup job no longer has its `for name in …` search-attribute loop').not.toBeNull();
    expect(loop![1]!.split(' ').sort()).toEqual(Object.keys(searchAttributeTypes).sort());
  });
});
