// The firmware library's update side, shared by the CLI (`tether update`) and the hub: the
// bundle a firmware folder makes, and the OTA client that drives one board over a channel.
export { FIRMWARE_ERROR_CATALOGUE, FirmwareError, type FirmwareErrorCode } from './bundle/firmware-error.js';
export { MAX_FILES, MAX_PATH, VERSION_FILE, caseClashes, collectFirmware, readFirmwareVersion, requireFiles, type Firmware, type FirmwareFile } from './bundle/firmware-folder.js';
export { manifestDigest, manifestOf, type ManifestEntry } from './bundle/manifest.js';
export { chunksOf, type Chunk } from './bundle/chunks.js';
export { OWNED_FOLDER, planEverything, planUpdate, type UpdatePlan } from './bundle/update-plan.js';
export { TRIAL_BOOTS, parseStatus, receivedBytes, type StagingStatus, type UpdateStatus } from './ota/update-status.js';
export type { OtaChannel } from './ota/ota-channel.js';
export { DirectChannel } from './ota/direct-channel.js';
export { HubApiChannel } from './ota/hub-api-channel.js';
export { HubCommandChannel, type HubCommands } from './ota/hub-command-channel.js';
export { OTA_ERROR_CATALOGUE, OtaError, otaMessage, type OtaErrorCode, type OtaFailure } from './ota/ota-error.js';
export type { OtaEvent, OtaListener } from './ota/ota-events.js';
export type { ClearResult } from './ota/ota-requests.js';
export { OtaClient, type UpdateOptions, type UpdateResult } from './ota/ota-client.js';
