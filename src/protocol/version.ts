/** Protocol version spoken by this implementation (protocol.md §1). */
export const PROTOCOL_VERSION = 1;

/** Tether's own version, reported by get_version and get_info. */
export const TETHER_VERSION = '0.1.0';
