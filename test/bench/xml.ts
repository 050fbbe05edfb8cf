/**
 * A strict little well-formedness checker for the SVG the suite generates (no XML parser is installed):
 * one root element, properly nested and closed tags, quoted attributes, no raw `<` or stray `&` in text.
 * Returns the element names in document order.
 */
export function checkWellFormed(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  const text = (t: string, at: number) => {
    if (t.includes('>') || t.includes('<'))
      throw new Error(`raw < or > in text at ${at}: ${JSON.stringify(t.slice(0, 40))}`);
    const amp = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(t);
    if (amp) throw new Error(`stray & in text at ${at + amp.index}`);
    if (stack.length === 0 && t.trim() !== '') throw new Error(`text outside the root element at ${at}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) {
      text(xml.slice(i), i);
      break;
    }
    text(xml.slice(i, lt), i);
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (m === null) throw new Error(`malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 60))}`);
    const [whole, close, name, attrs, selfClose] = m as unknown as [string, string, string, string, string];
    const seen = new Set<string>();
    for (const a of attrs.matchAll(/([A-Za-z_:][\w:.-]*)="/g)) {
      if (seen.has(a[1] as string)) throw new Error(`duplicate attribute ${a[1]} on <${name}>`);
      seen.add(a[1] as string);
    }
    if (close) {
      if (selfClose || attrs.trim() !== '') throw new Error(`malformed end tag </${name}>`);
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) roots++;
      names.push(name);
      if (!selfClose) stack.push(name);
    }
    i = lt + whole.length;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`expected one root element, got ${roots}`);
  return names;
}
