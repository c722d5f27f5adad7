import { bytesFromDockerSize, bytesFromKubernetesQuantity, KiB, MiB, GiB } from '../../../src/model/units.ts';

describe('bytesFromDockerSize (go-units RAMInBytes, as docker run --memory and Compose read sizes)', () => {
  it.each([
    ['65536', 65536],
    ['64b', 64],
    ['512k', 512 * KiB],
    ['512m', 512 * MiB],
    ['512M', 512 * MiB],
    ['512Mi', 512 * MiB],
    ['512MiB', 512 * MiB],
    ['512mb', 512 * MiB],
    ['512 MB', 512 * MiB],
    ['1.5g', 1.5 * GiB],
    ['1t', 1024 * GiB],
    ['1p', 1024 * 1024 * GiB],
  ])('%j is %d bytes: binary whatever the case', (text, bytes) => expect(bytesFromDockerSize(text)).toBe(bytes));

  it.each(['', 'lots', '-1', '64i', '1e9', '1.2.3m', 'm', '512Ki B'])('%j is not a size', (text) => expect(bytesFromDockerSize(text)).toBeNull());
});

describe('bytesFromKubernetesQuantity (resource.Quantity)', () => {
  it.each([
    ['512Mi', 512 * MiB],
    ['512M', 512e6],
    ['1.5Gi', 1.5 * GiB],
    ['64k', 64e3],
    ['1e9', 1e9],
    ['1E3', 1000],
    ['100', 100],
    ['.5Ki', 512],
    ['512m', 0.512],
  ])('%j is %d bytes', (text, bytes) => expect(bytesFromKubernetesQuantity(text)).toBeCloseTo(bytes, 6));

  it.each(['', '512MB', '512mi', '1g', '64K', 'Mi', '1e', '1.5.5Gi'])('%j is not a quantity', (text) => expect(bytesFromKubernetesQuantity(text)).toBeNull());
});
