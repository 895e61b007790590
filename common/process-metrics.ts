// Process metrics in the names Prometheus's own client libraries use, so standard dashboards
// (CPU, memory, start time) work for meshlet's processes unchanged.
import { memoryUsage, uptime } from 'node:process';

const START_SECONDS = Date.now() / 1000 - uptime();

export function processMetrics(): string {
  const cpu = process.cpuUsage();
  const mem = memoryUsage();
  return [
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
    '# TYPE process_cpu_seconds_total counter',
    `process_cpu_seconds_total ${((cpu.user + cpu.system) / 1e6).toFixed(6)}`,
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${mem.rss}`,
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds ${START_SECONDS.toFixed(3)}`,
    '# HELP nodejs_heap_used_bytes V8 heap in use.',
    '# TYPE nodejs_heap_used_bytes gauge',
    `nodejs_heap_used_bytes ${mem.heapUsed}`,
    '',
  ].join('\n');
}
