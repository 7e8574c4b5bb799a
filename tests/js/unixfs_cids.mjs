// Independent reference for UnixFS CIDs: imports files/directories with ipfs-unixfs-importer using
// the settings of `ipfs add --cid-version=1` in Kubo (CIDv1, raw leaves, 256 KiB fixed chunks,
// balanced layout with at most 174 links per node) and prints one JSON line per imported entry:
//   {"path": "<relative path>", "cid": "<base32 CIDv1>", "size": <file size or null>}
// Usage: node tests/js/unixfs_cids.mjs [--chunk-size N] PATH [PATH...]
// (offline; blocks kept in memory only; --chunk-size lets tests reach 3-level trees with small files)
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import * as fs from 'node:fs'
import * as path from 'node:path'

// A minimal in-memory blockstore: the importer only needs put/get/has.
const blocks = new Map()
const blockstore = {
  async put (cid, bytes) { blocks.set(cid.toString(), bytes); return cid },
  async get (cid) { return blocks.get(cid.toString()) },
  async has (cid) { return blocks.has(cid.toString()) }
}

function * walk (root, rel) {
  const st = fs.statSync(root)
  if (st.isDirectory()) {
    yield { path: rel }
    for (const name of fs.readdirSync(root).sort()) {
      yield * walk(path.join(root, name), rel + '/' + name)
    }
  } else {
    yield { path: rel, content: fs.createReadStream(root, { highWaterMark: 1 << 20 }) }
  }
}

const args = process.argv.slice(2)
let chunkSize = 262144
if (args[0] === '--chunk-size') {
  chunkSize = Number(args[1])
  args.splice(0, 2)
}

const options = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  wrapWithDirectory: false
}

for (const arg of args) {
  const source = [...walk(arg, path.basename(path.resolve(arg)))]
  for await (const entry of importer(source, blockstore, options)) {
    const size = entry.unixfs?.type === 'file' || entry.unixfs === undefined ? Number(entry.size) : null
    process.stdout.write(JSON.stringify({ path: entry.path, cid: entry.cid.toString(), size }) + '\n')
  }
  blocks.clear()
}
