// The server-sent event stream (/api/v1/stream) as a hook, and a debounce helper.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './ui.js';
import { streamUrl } from './api.js';

const RECONNECT_MS = 3000;

export const CASE_EVENTS = [
  'sla.overdue', 'sla.warning', 'case.accepted', 'case.feedback', 'case.concluded',
  'case.dispatched', 'case.escalated', 'case.closed',
];

/**
 * Opens the stream while the component is mounted; calls onEvent(type, data) for every event
 * whose type is in `types` (all events when `types` is null). Returns true while connected.
 * The type is read from the JSON body's "type"; a named SSE event ("event: case.closed") counts too.
 */
export function useEventStream(types, onEvent) {
  const [live, setLive] = useState(false);
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(() => {
    if (typeof EventSource === 'undefined') return undefined;
    let source = null;
    let retry = null;
    let closed = false;
    const deliver = (event) => {
      let data = null;
      try { data = JSON.parse(event.data); } catch { data = null; }
      const type = (data && data.type) || (event.type !== 'message' ? event.type : null);
      if (!type) return;
      if (types && !types.includes(type)) return;
      handler.current(type, data);
    };
    // A ticket opens the stream once: after a drop, a new ticket, not the browser's own retry.
    const open = async () => {
      if (closed) return;
      try {
        const url = await streamUrl();
        if (closed) return;
        source = new EventSource(url);
      } catch {
        retry = setTimeout(open, RECONNECT_MS);
        return;
      }
      source.onopen = () => setLive(true);
      source.onerror = () => {
        setLive(false);
        source.close();
        retry = setTimeout(open, RECONNECT_MS);
      };
      source.onmessage = deliver;
      (types || CASE_EVENTS).forEach((t) => source.addEventListener(t, deliver));
    };
    open();
    return () => { closed = true; clearTimeout(retry); if (source) source.close(); };
  }, [types ? types.join(',') : '*']);

  return live;
}

/** A stable function that runs `fn` once, `ms` after the last call. */
export function useDebounced(fn, ms) {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef(null);
  useEffect(() => () => clearTimeout(timer.current), []);
  const debounced = useRef(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(), ms);
  });
  return debounced.current;
}

export function LiveBadge({ live }) {
  return html`<span class="live ${live ? 'on' : 'off'}" data-testid="live" data-live=${live ? 'on' : 'off'}
    title=${live ? '实时推送已连接' : '实时推送已断开，正在重连'}><i class="dot"></i>实时</span>`;
}
