/**
 * A small XML reader for the bare AMQP spec files: elements and double-quoted attributes, comments
 * and the XML declaration, no text content. Anything it does not understand is an error, never
 * silently skipped. Each element keeps its source span, so that the generator can quote it.
 */

const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s) {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e) => ENTITIES[e]);
}

function parseAttrs(s, where) {
  const attrs = {};
  const re = /\s+([\w:-]+)="([^"<]*)"/y;
  let m;
  while ((m = re.exec(s)) !== null) {
    if (m[1] in attrs) throw new Error(`${where}: duplicate attribute ${m[1]}`);
    attrs[m[1]] = decodeEntities(m[2]);
    if (re.lastIndex === s.length) return attrs;
  }
  if (s.trim() !== '') throw new Error(`${where}: cannot read attributes ${JSON.stringify(s)}`);
  return attrs;
}

/** Parses `text` into its root element: { tag, attrs, children, start, end } (end past the close). */
export function parseXml(text, file) {
  // Comments and the declaration become spaces, so that offsets still point into `text`.
  const body = text
    .replace(/^<\?xml[^>]*\?>/, (s) => ' '.repeat(s.length))
    .replace(/<!--[\s\S]*?-->/g, (s) => s.replace(/[^\n]/g, ' '));
  const tagRe = /<(\/?)([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const stack = [];
  let root;
  let last = 0;
  for (let m = tagRe.exec(body); m !== null; m = tagRe.exec(body)) {
    const gap = body.slice(last, m.index);
    if (gap.trim() !== '') throw new Error(`${file}: unexpected content ${JSON.stringify(gap.trim())}`);
    last = tagRe.lastIndex;
    const [, closing, tag, attrText, selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open?.tag !== tag) throw new Error(`${file}: </${tag}> closes <${open?.tag}>`);
      open.end = tagRe.lastIndex;
      continue;
    }
    const el = {
      tag,
      attrs: parseAttrs(attrText, `${file} <${tag}>`),
      children: [],
      start: m.index,
      end: tagRe.lastIndex,
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else if (root) throw new Error(`${file}: more than one root element`);
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  const rest = body.slice(last);
  if (rest.trim() !== '') throw new Error(`${file}: unexpected content ${JSON.stringify(rest.trim())}`);
  if (stack.length > 0) throw new Error(`${file}: <${stack[stack.length - 1].tag}> is never closed`);
  if (!root) throw new Error(`${file}: no root element`);
  return root;
}
