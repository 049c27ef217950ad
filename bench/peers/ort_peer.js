// ONNX Runtime peer of the benchmark (not a test): runs the ONNX file that
// bench/peers/torch_peer.py exported (the same network and weights), checks
// its output against the compiled model's on the same input, and times
// session.run: median of repeated runs per batch and thread count.
//   node bench/peers/ort_peer.js MODEL.onnx BUDGET_MS THREADS(1,2) BATCH:PREFIX...
// PREFIX.x.f32 / PREFIX.y.f32: input and nncc's output (bench/forward.c);
// PREFIX.shape.json: the per-sample input shape.
// Needs `ONNXRUNTIME_NODE_INSTALL=skip npm install` in bench/peers.
// Prints one JSON object per line.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

async function main() {
  const [onnx, budgetArg, threadsArg, ...cases] = process.argv.slice(2);
  const budget = Number(budgetArg);
  console.log(JSON.stringify({kind: 'info', onnxruntime: ort.env.versions.common}));
  for (const thr of threadsArg.split(',').map(Number)) {
    const session = await ort.InferenceSession.create(onnx, {
      intraOpNumThreads: thr, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all', executionProviders: ['cpu'],
    });
    for (const c of cases) {
      const i = c.indexOf(':');
      const batch = Number(c.slice(0, i)), prefix = c.slice(i + 1);
      const x = readF32(prefix + '.x.f32'), ref = readF32(prefix + '.y.f32');
      const per = x.length / batch;
      // PREFIX.shape.json: the per-sample input shape (the bench writes it)
      const shape = JSON.parse(fs.readFileSync(prefix + '.shape.json', 'utf8'));
      const feeds = {input: new ort.Tensor('float32', x, [batch, ...shape])};
      if (shape.reduce((a, b) => a * b, 1) !== per) throw new Error('shape mismatch');
      const run = async () => (await session.run(feeds)).output.data;
      const y = await run();
      let diff = 0, mx = 0;
      for (let k = 0; k < ref.length; ++k) {
        diff = Math.max(diff, Math.abs(y[k] - ref[k]));
        mx = Math.max(mx, Math.abs(ref[k]));
      }
      if (y.length !== ref.length) diff = Infinity;
      if (thr === 1) console.log(JSON.stringify({kind: 'check', batch, max_abs_diff: diff, max_abs_ref: mx}));
      let s = process.hrtime.bigint();
      await run();
      const w = Number(process.hrtime.bigint() - s) / 1e6;
      let reps = Math.min(200, w > 0 ? Math.floor(budget / w) : 200);
      reps = Math.max(reps, w > 1000 ? 3 : 5);
      const t = [];
      const c0 = process.cpuUsage(), w0 = process.hrtime.bigint();
      for (let r = 0; r < reps; ++r) {
        s = process.hrtime.bigint();
        await run();
        t.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      const used = process.cpuUsage(c0);
      const share = (used.user + used.system) / 1e3 / (Number(process.hrtime.bigint() - w0) / 1e6);
      t.sort((a, b) => a - b);
      const med = reps % 2 ? t[(reps - 1) / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2;
      console.log(JSON.stringify({kind: 'time', batch, threads: thr, median_ms: med, min_ms: t[0], reps,
        cpu_per_wall: share}));
    }
  }
}

main().catch((e) => {
  console.log(JSON.stringify({kind: 'error', message: String(e && e.message || e)}));
  process.exit(1);
});
