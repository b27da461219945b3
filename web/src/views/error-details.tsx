// An error as the page shows it: its stable code, what went wrong, and what to do next, with the
// commands the next step names (in backticks in errors.ts) shown as code.
import type { ShownError } from '../errors.js';

/** Text whose `backticked` parts are commands or file names, shown as code. */
export function WithCode({ text }: { text: string }) {
  return <>{text.split('`').map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}</>;
}

export function ErrorDetails({ error }: { error: ShownError }) {
  return (
    <>
      <p>
        <code>{error.code}</code> <WithCode text={error.message} />
      </p>
      <p>
        <WithCode text={error.next} />
      </p>
    </>
  );
}
