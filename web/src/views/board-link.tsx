// What a board needs to link to the hub, as the hub rendered it (the same as `tether hub
// add-device` prints): its config/hub.json, the tether device line and the tether install line,
// each with a copy button. The token is in this answer only: the page says so.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { NewBoardLink } from '../api.js';

/** Copies to the clipboard; on a plain-http LAN address (no Clipboard API) through a selected textarea. */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    try {
      return document.execCommand('copy');
    } finally {
      area.remove();
    }
  }
}

/** A button that copies `text`, and says whether it did in a live region beside it. */
function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  return (
    <span class="copy">
      <button type="button" class="secondary" aria-label={label} onClick={() => void copyText(text).then((ok) => setSaid(ok ? 'Copied' : 'Could not copy: select the text and copy it'))}>
        Copy
      </button>
      <span role="status" class="muted small">
        {said}
      </span>
    </span>
  );
}

/** One piece to copy: its heading, what to do with it, the text, and its copy button. */
function Piece({ id, title, children, text, copyLabel }: { id: string; title: string; children: ComponentChildren; text: string; copyLabel: string }) {
  return (
    <section class="link-piece" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{title}</h3>
      <p>{children}</p>
      <pre id={id} data-copy={id} tabIndex={0} aria-label={copyLabel.replace(/^Copy /, '')}>
        {text}
      </pre>
      <CopyButton text={text} label={copyLabel} />
    </section>
  );
}

export function BoardLinkMaterialView({ made, rotated }: { made: NewBoardLink; rotated: boolean }) {
  const { device, token, link } = made;
  return (
    <section class="board-link" aria-labelledby="board-link-title" data-board-link={device.id}>
      <h2 id="board-link-title">{rotated ? `New token for ${device.id}` : `${device.name} is registered`}</h2>
      <p class="notice" role="note">
        Its token is in the config below, shown this once: keep it secret. The hub keeps only its hash, so leaving this page loses it (give the board a new
        token then).
      </p>
      {link.notes.length > 0 ? (
        <ul class="link-notes" aria-label="Before you use it">
          {link.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      ) : null}
      <Piece id="link-hub-json" title="Pico W / ESP32 (Tether firmware)" text={link.hubJson} copyLabel={`Copy ${link.hubJsonPath}`}>
        Save this as <code>{link.hubJsonPath}</code> on the board.
      </Piece>
      <Piece id="link-token" title="The token" text={token} copyLabel="Copy the token">
        For the lines below: put it in a file readable only by you (<code>chmod 600</code>).
      </Piece>
      <Piece id="link-device-command" title="Raspberry Pi or other Linux board (tether device)" text={link.deviceCommand} copyLabel="Copy the tether device line">
        Put the token in <code>{link.tokenFile}</code>, then run:
      </Piece>
      {link.installCommand !== undefined ? (
        <Piece id="link-install-command" title="Board on USB of the hub's machine (tether install)" text={link.installCommand} copyLabel="Copy the tether install line">
          On the hub's machine, put the token in <code>{link.installTokenFile}</code> in the folder you run it in; it installs the firmware and writes{' '}
          <code>{link.hubJsonPath}</code> with it.
        </Piece>
      ) : null}
    </section>
  );
}
