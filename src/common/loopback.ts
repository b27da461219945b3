// Whether only this machine can reach an address: a listener there needs no warning about who
// else on the network may talk to it.
export function isLoopbackHost(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === '::ffff:127.0.0.1' || host === 'localhost';
}
