import { nodeVersionProblem } from '../../../src/cli/node-version.ts';

describe('nodeVersionProblem', () => {
  it('accepts 22.19 and newer', () => {
    expect(nodeVersionProblem('22.19.0')).toBeNull();
    expect(nodeVersionProblem('24.21.0')).toBeNull();
    expect(nodeVersionProblem('30.0.0')).toBeNull();
  });
  it('names the required and the running version for older ones', () => {
    expect(nodeVersionProblem('22.18.9')).toMatch(/needs Node\.js 22\.19 or newer .* this is Node 22\.18\.9/);
    expect(nodeVersionProblem('20.20.2')).toMatch(/this is Node 20\.20\.2/);
  });
});
