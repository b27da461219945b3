// What a board needs to link to this hub is rendered by the hub (src/hub/board-link-material.ts),
// so that tether hub add-device, tether install and the API's POST /api/devices show the same.
export { boardsReachHubAt, firmwareHubJson, hubArgument, type BoardLink, type BoardsReachHubAt } from '../hub/board-link-material.js';
