// Benchmark workload: about a quarter second of call-heavy JavaScript, then the probed line.
function parse(record) {
  return JSON.parse(record);
}

function score(item) {
  return item.a * 3 + item.b.length;
}

function run(n) {
  const records = [];
  for (let i = 0; i < n; i++) records.push(JSON.stringify({ a: i, b: "x".repeat(i % 7) }));
  let total = 0;
  for (const record of records) total += score(parse(record));
  return total;
}

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

const total = run(300000) + fib(27);
const finished = total; // the probed line: reached at the very end
console.log(finished);
