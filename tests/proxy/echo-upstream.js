// The application behind nginx in the nginx auth_request test: it answers
// every request with 200 and a plain-text echo of its method, URL, body
// length and headers exactly as they arrived (raw values, one "header
// NAME: VALUE" line each, duplicates kept), and appends one line per request
// to LOG so that the test can tell whether a request reached it.
// Usage: node echo-upstream.js PORT LOG
'use strict';
const http = require('node:http');
const fs = require('node:fs');

const [port, log] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  let bodyLength = 0;
  req.on('data', (chunk) => { bodyLength += chunk.length; });
  req.on('end', () => {
    const lines = [`method ${req.method}`, `url ${req.url}`, `body-length ${bodyLength}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      lines.push(`header ${req.rawHeaders[i].toLowerCase()}: ${req.rawHeaders[i + 1]}`);
    }
    fs.appendFileSync(log, `${req.method} ${req.url}\n`);
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(lines.join('\n') + '\n');
  });
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
