/**
 * `proxy: 'env'`: the proxy the environment names, read only when the caller asks (the Azure
 * SDKs, too, take a proxy only when given one). HTTPS_PROXY (or https_proxy) for a TLS target,
 * HTTP_PROXY (or http_proxy) for a plain one; NO_PROXY (or no_proxy) lists the hosts reached
 * directly:
 * - `*` alone: no proxy for any host;
 * - `example.com` or `.example.com`: that host and every host under it;
 * - `host:port`: that host on that port only;
 * - an IP address: that address exactly (CIDR ranges are not read).
 */

/** The environment variables read; `process.env` by default. */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/** The proxy URL for host:port from the environment, or undefined for a direct connection. */
export function proxyFromEnv(
  host: string,
  port: number,
  tls: boolean,
  env: ProxyEnv = process.env,
): string | undefined {
  const pick = (name: string): string | undefined => {
    const v = env[name] ?? env[name.toLowerCase()];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const proxy = tls ? pick('HTTPS_PROXY') : pick('HTTP_PROXY');
  if (proxy === undefined) return undefined;
  const noProxy = pick('NO_PROXY');
  return noProxy !== undefined && bypassed(noProxy, host, port) ? undefined : proxy;
}

function bypassed(noProxy: string, host: string, port: number): boolean {
  const target = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return noProxy
    .split(/[\s,]+/)
    .filter((e) => e.length > 0)
    .some((entry) => {
      if (entry === '*') return true;
      const m = /^(\[[^\]]+\]|[^:]+|[^\]]*:[^\]]*:[^\]]*)(?::(\d+))?$/.exec(entry);
      const [name, entryPort] = m ? [m[1]!, m[2]] : [entry, undefined];
      if (entryPort !== undefined && Number(entryPort) !== port) return false;
      const bare = name
        .toLowerCase()
        .replace(/^\[(.*)\]$/, '$1')
        .replace(/^\*?\./, '');
      return target === bare || target.endsWith(`.${bare}`);
    });
}
