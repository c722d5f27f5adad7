import { isInputError } from '../../src/errors.ts';

/** Runs `f` and asserts it throws an InputError whose message matches `re`. */
export function expectInputError(f: () => unknown, re: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(isInputError(e)).toBe(true);
    expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error('expected an InputError');
}
