// Addresses as Tether shows and judges them: an IPv6 host in brackets before its port, and
// whether only this machine can reach an address (a listener there needs no warning about who
// else on the network may talk to it).
export function isLoopbackHost(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === '::ffff:127.0.0.1' || host === 'localhost';
}

/** The host as it goes before a port or into a URL: an IPv6 address in brackets. */
export function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** "host:port", "[::1]:port". */
export function hostPort(host: string, port: number): string {
  return `${bracketHost(host)}:${port}`;
}
