// The reference lexicon validator (@atproto/lexicon) as a filter, so the site's own Python
// validator can be checked against it on the same records.
//
//   node node/lexicon-validate.mjs LEXICON.json... < records.jsonl
//   node node/lexicon-validate.mjs --atproto-api [LEXICON.json...] < records.jsonl
//
// --atproto-api adds every lexicon the published @atproto/api package carries (app.bsky.*,
// com.atproto.*): Bluesky posts, embeds and feed generator records are checked against those.
//
// Each input line is {"nsid": "...", "record": {...}} in the JSON form a PDS speaks (blobs as
// {"$type":"blob","ref":{"$link":CID},...}); each output line is {"valid": bool, "error": str|null}.
// A line {"nsid": "...", "output": {...}} checks the output of the query or procedure ``nsid``
// instead (what a service answers, e.g. app.bsky.video.getJobStatus).

import fs from 'node:fs'
import readline from 'node:readline'

import { Lexicons, jsonToLex } from '@atproto/lexicon'

const args = process.argv.slice(2)
const withApi = args.includes('--atproto-api')
const files = args.filter((arg) => arg !== '--atproto-api')
if (files.length === 0 && !withApi) {
  console.error('usage: node lexicon-validate.mjs [--atproto-api] LEXICON.json... < records.jsonl')
  process.exit(2)
}
const docs = files.map((file) => JSON.parse(fs.readFileSync(file, 'utf8')))
if (withApi) {
  const { schemas } = await import('@atproto/api')
  docs.push(...schemas)
}
const lexicons = new Lexicons(docs)

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  const { nsid, record, output } = JSON.parse(line)
  let result
  try {
    if (output !== undefined) lexicons.assertValidXrpcOutput(nsid, jsonToLex(output))
    else lexicons.assertValidRecord(nsid, jsonToLex(record))
    result = { valid: true, error: null }
  } catch (err) {
    result = { valid: false, error: String(err?.message ?? err) }
  }
  process.stdout.write(JSON.stringify(result) + '\n')
}
