// Sends one exception and one message to the DSN in argv[2] with raven 2.6 (the legacy
// raven-node client, npm `raven`), default settings: base64(zlib(JSON)) bodies on /store/.
// Exits non-zero when a send fails.
'use strict';
const Raven = require('raven');

const dsn = process.argv[2];
if (!dsn) {
  console.error('usage: send.js DSN');
  process.exit(2);
}
Raven.config(dsn).install();

function parseConfig(name) {
  throw new TypeError(`raven-node legacy failure: cannot parse ${name}`);
}

function capture(send) {
  return new Promise((resolve, reject) => {
    send((err, eventId) => (err ? reject(err) : resolve(eventId)));
  });
}

(async () => {
  try {
    parseConfig('app.json');
  } catch (e) {
    await capture((cb) => Raven.captureException(e, { tags: { sdk: 'raven-node' } }, cb));
  }
  await capture((cb) =>
    Raven.captureMessage('raven-node legacy message', { tags: { sdk: 'raven-node' } }, cb));
})().then(
  () => process.exit(0),
  (err) => {
    console.error('raven_node:', err);
    process.exit(1);
  },
);
