// ipx 3 + sharp behind node's own http server, for the imgpro benchmark harness.
// Copied into bench/.work/ipx (where node_modules is) and started by bench/harness/contenders.py.
//  - storage: ipx's file storage over the harness' images directory
//  - sharp's libvips operation cache off (result caches are off for every contender)
//  - AVIF: sharp's defaults are effort 4 and 4:4:4 chroma; pinned here to what libvips uses for
//    the other contenders (effort IPX_AVIF_EFFORT, 4:2:0), since ipx exposes neither
import { createServer } from "node:http";
import { createIPX, createIPXNodeServer, ipxFSStorage } from "ipx";
import sharp from "sharp";

sharp.cache(false);
const effort = Number(process.env.IPX_AVIF_EFFORT || "4");
const toFormat = sharp.prototype.toFormat;
sharp.prototype.toFormat = function (format, options) {
  if (format === "avif" || format === "heif") {
    options = { ...options, effort, chromaSubsampling: "4:2:0" };
  }
  return toFormat.call(this, format, options);
};

const ipx = createIPX({ storage: ipxFSStorage({ dir: process.env.IPX_DIR }) });
const handler = createIPXNodeServer(ipx);
const port = Number(process.env.IPX_PORT || "3000");
createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return;
  }
  handler(req, res);
}).listen(port, "127.0.0.1", () => {
  console.log(`ipx on http://127.0.0.1:${port} (sharp ${sharp.versions.sharp}, ` +
              `libvips ${sharp.versions.vips}, concurrency ${sharp.concurrency()})`);
});
