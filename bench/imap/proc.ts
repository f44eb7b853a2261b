// /proc readings for the servers under test: CPU time of a process tree, resident memory.
import fs from 'node:fs';

const TICK = 100; // USER_HZ on Linux

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: own CPU plus that of reaped children. */
  ticks: number;
}

function readStat(pid: number): Stat | null {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // the command name is in parentheses and may contain spaces
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // f[0] = state (field 3); ppid = field 4; utime..cstime = fields 14..17
  return { pid, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}

/** Pids of `root` and all its live descendants. */
export function processTree(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    let a = byParent.get(st.ppid);
    if (!a) byParent.set(st.ppid, (a = []));
    a.push(st.pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of byParent.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** CPU seconds used so far by a process tree, including descendants that already exited
 * (counted in their parents' cutime/cstime once reaped). */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / TICK;
}

function statusField(pid: number, field: string): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** VmRSS of one process, in KB. */
export function rssKB(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** Sum of the proportional set sizes (shared pages divided among their users) of a process
 * tree, in KB: the fair memory figure for a multi-process server. */
export function treePssKB(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
      const m = /^Pss:\s+(\d+) kB/m.exec(s);
      if (m) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kb;
}

/** Sum of VmRSS over a process tree, in KB (counts shared pages once per process). */
export function treeRssKB(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) kb += rssKB(pid);
  return kb;
}

/** Busy CPU seconds of the whole machine so far (all cores: user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / TICK;
}
