// The reference tus server (@tus/server + @tus/file-store from tests/interop/)
// on 127.0.0.1, for tests/sync_tus_test.cpp.
//   node tus_file_server.mjs <tests/interop dir> <upload dir>
// Prints "listening <port>" once ready; exits when stdin closes or on SIGTERM.
import http from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [interopDir, uploadDir] = process.argv.slice(2);
const require = createRequire(interopDir + '/package.json');
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const { Server } = await load('@tus/server');
const { FileStore } = await load('@tus/file-store');

const tus = new Server({ path: '/files', datastore: new FileStore({ directory: uploadDir }) });
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
