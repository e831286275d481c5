// The Milvus Node.js SDK against `keel serve`: create, insert, index, load,
// search with a filter, query, delete, drop. Prints one JSON summary line and
// exits non-zero on the first failure. Usage: node scenario.js 127.0.0.1:PORT
'use strict';
const { MilvusClient, DataType } = require('@zilliz/milvus2-sdk-node');

const address = process.argv[2];
const name = `node_${Date.now()}`;

function ok(step, res) {
  const status = res && res.status ? res.status : res;
  if (!status || (status.error_code !== 'Success' && status.code !== 0)) {
    throw new Error(`${step} failed: ${JSON.stringify(status)}`);
  }
  return res;
}

async function main() {
  const client = new MilvusClient({ address, timeout: 20000 });
  const summary = {};
  ok('createCollection', await client.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'vector', data_type: DataType.FloatVector, dim: 4 },
      { name: 'color', data_type: DataType.VarChar, max_length: 16 },
      { name: 'size', data_type: DataType.Int32 },
    ],
  }));
  const data = [];
  for (let i = 0; i < 20; i++) {
    data.push({ id: i, vector: [i, 1, 0, 0], color: i % 2 ? 'red' : 'blue', size: i * 10 });
  }
  const inserted = ok('insert', await client.insert({ collection_name: name, data }));
  summary.insert_cnt = Number(inserted.insert_cnt);
  ok('createIndex', await client.createIndex({
    collection_name: name, field_name: 'vector', index_type: 'HNSW', metric_type: 'L2',
    params: { M: 8, efConstruction: 64 },
  }));
  ok('loadCollectionSync', await client.loadCollectionSync({ collection_name: name }));
  const found = ok('search', await client.search({
    collection_name: name, data: [[3, 1, 0, 0]], limit: 3, filter: "color == 'red'",
    output_fields: ['id', 'color', 'size'],
  }));
  summary.search_ids = found.results.map((r) => Number(r.id));
  summary.search_colors = found.results.map((r) => r.color);
  const rows = ok('query', await client.query({
    collection_name: name, filter: 'size >= 150', output_fields: ['id', 'size'],
  }));
  summary.query_ids = rows.data.map((r) => Number(r.id)).sort((a, b) => a - b);
  const deleted = ok('delete', await client.delete({ collection_name: name, filter: 'id < 5' }));
  summary.delete_cnt = Number(deleted.delete_cnt);
  const counted = ok('count', await client.query({
    collection_name: name, filter: '', output_fields: ['count(*)'],
  }));
  summary.count = Number(counted.data[0]['count(*)']);
  ok('dropCollection', await client.dropCollection({ collection_name: name }));
  const has = ok('hasCollection', await client.hasCollection({ collection_name: name }));
  summary.exists_after_drop = has.value;
  console.log(JSON.stringify(summary));
  await client.closeConnection();
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
