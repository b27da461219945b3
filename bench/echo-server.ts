// The baseline: a bare Node TCP server that echoes each NDJSON line back, doing nothing else.
// It prints its port, like `tether device`, so the bench can start both the same way.
import net from 'node:net';

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    const last = pending.lastIndexOf('\n');
    if (last === -1) return;
    socket.write(pending.slice(0, last + 1));
    pending = pending.slice(last + 1);
  });
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`echo listening on 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => process.exit(0));
