// Listener addresses: every listener is configured as HOST:PORT, [IPv6]:PORT, PORT, or `off`.
export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: string): ListenAddress | null {
  const v = value.trim();
  if (v === 'off' || v === '') return null;
  let host = '127.0.0.1';
  let portText = v;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else if (v.includes(':')) {
    const i = v.lastIndexOf(':');
    host = v.slice(0, i);
    portText = v.slice(i + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 0 || port > 65535) {
    throw new Error(`invalid listen address "${value}": expected HOST:PORT, PORT or off`);
  }
  return { host, port };
}

export function formatListen(a: ListenAddress | null): string {
  if (!a) return 'off';
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
