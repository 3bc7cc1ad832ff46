// Uploads a file with tus-js-client, the JavaScript reference tus client, the
// way any tus peer would: creation with metadata, then PATCHes of --chunk-size.
// With --upload-url it resumes an existing upload instead (HEAD, then PATCH on).
// Prints the upload URL on stdout; exits 1 with the error on stderr.
// Trusts the test CA through NODE_EXTRA_CA_CERTS.
//
//   node tus_js_upload.mjs --endpoint https://127.0.0.1:8443/files/ --file B.shb \
//        --kiosk-id <hex> --batch-id <ULID> [--chunk-size 65536] [--upload-url URL]
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as tus from 'tus-js-client';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    file: { type: 'string' },
    'kiosk-id': { type: 'string' },
    'batch-id': { type: 'string' },
    'chunk-size': { type: 'string', default: '65536' },
    'upload-url': { type: 'string' },
  },
});
for (const required of ['endpoint', 'file', 'kiosk-id', 'batch-id']) {
  if (!values[required]) {
    console.error(`tus_js_upload: --${required} is required`);
    process.exit(2);
  }
}

const data = fs.readFileSync(values.file);
let progressEvents = 0;
const upload = new tus.Upload(data, {
  endpoint: values.endpoint,
  uploadUrl: values['upload-url'] ?? null,
  chunkSize: Number(values['chunk-size']),
  retryDelays: [0, 200, 1000],
  metadata: {
    filename: `${values['batch-id']}.shb`,
    batch_id: values['batch-id'],
    kiosk_id: values['kiosk-id'],
  },
  onProgress() {
    progressEvents += 1;
  },
  onError(error) {
    console.error(`tus_js_upload: ${error}`);
    process.exit(1);
  },
  onSuccess() {
    console.error(`tus_js_upload: ${data.length} bytes uploaded (${progressEvents} progress events)`);
    console.log(upload.url);
  },
});
upload.start();
