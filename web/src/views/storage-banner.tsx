// A banner while the hub cannot store what boards send (its disk is full): GET /api/health says
// so, asked once the boards list is in, every 10 s, and whenever the live stream comes back.
import type { Api } from '../api.js';
import { dateTime } from '../format.js';
import { useHubCheck } from '../hooks.js';

const askHealth = (api: Api) => api.health();

export function StorageBanner({ api, live, ready }: { api: Api; live: boolean; ready: boolean }) {
  const storage = useHubCheck(api, askHealth, live, ready)?.storage;
  if (storage?.state !== 'full') return null;
  return (
    <div class="error banner" role="alert" data-storage="full">
      <p>
        <code>storage_full</code> The hub cannot write to its database{storage.since !== null ? ` since ${dateTime(storage.since)}` : ''}
        {storage.error !== null ? ` (${storage.error})` : ''}. Boards keep their readings and send them once it can; commands are refused
        meanwhile.
      </p>
      <p>Free disk space in the hub’s data folder, or bound its store with retention.max_mb in the hub config. The hub carries on by itself.</p>
    </div>
  );
}
