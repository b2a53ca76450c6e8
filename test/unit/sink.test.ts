import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { safeWriter } from '../../src/sink.ts';

describe('safeWriter', () => {
  test('drops what follows the stream’s first error, and never throws', async () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    const seen: string[] = [];
    (stream as unknown as PassThrough).on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    const write = safeWriter(stream);
    write('one\n');
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    write('two\n');
    stream.destroy();
    write('three\n');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['one\n']);
  });
});
