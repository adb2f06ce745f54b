import { join } from 'node:path';

/** Local-CLI handle: the CLI reaches a running server through its admin API with this token. */
export const serverInfoFile = (dataDir: string) => join(dataDir, 'server.json');

/** What `server.json` holds. `instance` tells this process's file from any other's. */
export interface ServerInfo {
  pid: number;
  instance: string;
  url: string;
  token: string;
}
