// The files' bytes in chunks (op "chunk"), from where the board's staging area stands.
import { readFile } from 'node:fs/promises';
import { TetherError } from '../../client/index.js';
import { chunksOf } from '../bundle/chunks.js';
import type { FirmwareFile } from '../bundle/firmware-folder.js';
import type { OtaChannel } from './ota-channel.js';
import { OtaError } from './ota-error.js';
import type { OtaListener } from './ota-events.js';

/**
 * Sends each file from the byte count the board already holds of it (`received`, by path). A
 * chunk that fails stops the upload with upload_stopped, the board keeping what it received, except
 * for refusals that no retry cures (no admin token, no update action), which pass as they are.
 */
export async function uploadFiles(
  channel: OtaChannel,
  files: readonly FirmwareFile[],
  received: Readonly<Record<string, number>>,
  chunkBytes: number,
  emit: OtaListener,
  /** Checked before every chunk. */
  signal?: AbortSignal,
): Promise<void> {
  const had = (file: FirmwareFile) => Math.min(received[file.path] ?? 0, file.size);
  emit({
    type: 'upload_started',
    totalBytes: files.reduce((n, f) => n + f.size, 0),
    files: files.length,
    receivedBytes: files.reduce((n, f) => n + had(f), 0),
  });
  try {
    for (const [i, file] of files.entries()) {
      const data = await readFile(file.source);
      if (data.length !== file.size) throw new OtaError(channel.label, { code: 'file_changed', source: file.source });
      emit({ type: 'file_started', index: i + 1, path: file.path });
      for (const chunk of chunksOf(data, had(file), chunkBytes)) {
        signal?.throwIfAborted();
        try {
          await channel.request({ action: 'update', op: 'chunk', path: file.path, offset: chunk.offset, data: chunk.data });
        } catch (err) {
          if (err instanceof TetherError && (err.code === 'unauthorized' || err.code === 'unknown_action')) throw err;
          const reason = err instanceof Error ? err.message : String(err);
          throw new OtaError(channel.label, { code: 'upload_stopped', path: file.path, offset: chunk.offset, reason }, { cause: err });
        }
        emit({ type: 'chunk_sent', bytes: chunk.bytes });
      }
    }
  } finally {
    emit({ type: 'upload_ended' });
  }
}
