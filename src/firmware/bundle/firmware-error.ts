// Why a folder is not a firmware that can be sent to a board. The codes are stable (the CLI and
// the hub's release store turn them into their own refusals); the message says what to fix.

export const FIRMWARE_ERROR_CATALOGUE = {
  no_version_file: 'The folder has no readable tether/__init__.py: it is not the firmware folder (the one with main.py and tether/).',
  no_version: "tether/__init__.py has no line VERSION = '…' (1 to 32 characters); the board reports that version, so it must be there.",
  bad_path: 'A file name the board cannot take (longer than 96 characters, or characters other than A-Z a-z 0-9 _ . -).',
  case_clash: "Two files whose names differ only in case: one file on the board's FAT file system.",
  too_many_files: 'More files than the board takes in one update (128).',
  no_files: 'No .py, .mpy or .json files to send under the folder.',
} as const;

export type FirmwareErrorCode = keyof typeof FIRMWARE_ERROR_CATALOGUE;

export class FirmwareError extends Error {
  readonly code: FirmwareErrorCode;

  constructor(code: FirmwareErrorCode, message: string) {
    super(message);
    this.name = 'FirmwareError';
    this.code = code;
  }
}
