'use strict';
// Prometheus text format 0.0.4: a counter and a histogram, with no runtime
// dependencies (nothing to audit, nothing to download at build time).

function escapeLabel(value) {
  return String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(pairs) {
  if (pairs.length === 0) return '';
  return '{' + pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',') + '}';
}

class Metric {
  constructor(name, help, type, labelNames) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = labelNames;
    this.series = new Map();
  }

  // values: label values in labelNames order (no object lookups by name).
  child(values, init) {
    const key = JSON.stringify(values.map(String));
    if (!this.series.has(key)) {
      this.series.set(key, { pairs: this.labelNames.map((n, i) => [n, String(values.at(i))]), ...init() });
    }
    return this.series.get(key);
  }

  header() {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
  }
}

class Counter extends Metric {
  constructor(name, help, labelNames) {
    super(name, help, 'counter', labelNames);
  }

  inc(values, value = 1) {
    this.child(values, () => ({ value: 0 })).value += value;
  }

  render() {
    let out = this.header();
    for (const { pairs, value } of this.series.values()) {
      out += `${this.name}${labelText(pairs)} ${value}\n`;
    }
    return out;
  }
}

class Histogram extends Metric {
  // buckets: [[upper bound in seconds, its `le` label as the SLO rules spell it], ...]
  constructor(name, help, labelNames, buckets) {
    super(name, help, 'histogram', labelNames);
    this.buckets = buckets;
  }

  observe(values, value) {
    const s = this.child(values, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    s.counts = s.counts.map((c, i) => (value <= this.buckets.at(i)[0] ? c + 1 : c));
    s.sum += value;
    s.count += 1;
  }

  render() {
    let out = this.header();
    for (const s of this.series.values()) {
      this.buckets.forEach(([, le], i) => {
        out += `${this.name}_bucket${labelText([...s.pairs, ['le', le]])} ${s.counts.at(i)}\n`;
      });
      out += `${this.name}_bucket${labelText([...s.pairs, ['le', '+Inf']])} ${s.count}\n`;
      out += `${this.name}_sum${labelText(s.pairs)} ${s.sum}\n`;
      out += `${this.name}_count${labelText(s.pairs)} ${s.count}\n`;
    }
    return out;
  }
}

class Registry {
  constructor() {
    this.metrics = [];
  }

  register(metric) {
    this.metrics.push(metric);
    return metric;
  }

  render() {
    return this.metrics.map((m) => m.render()).join('');
  }
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

module.exports = { Counter, Histogram, Registry, CONTENT_TYPE };
