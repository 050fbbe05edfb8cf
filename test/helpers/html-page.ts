/**
 * A realistic large HTML page for the compression tests and benchmark: a product listing with repeated markup
 * and varied text (words drawn with a Zipf-like skew from a vocabulary, prices, ids), deterministic per seed.
 */
export function productPage(bytes: number, seed = 1): string {
  let state = seed >>> 0 || 1;
  const rand = (): number => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ra',
    'te',
    'su',
    'no',
    'vi',
    'pe',
    'dra',
    'mon',
    'til',
    'ber',
    'gos',
    'an',
    'el',
  ];
  const vocabulary: string[] = [];
  for (let i = 0; i < 3000; i++) {
    let word = '';
    const n = 1 + Math.floor(rand() * 4);
    for (let j = 0; j < n; j++) word += syllables[Math.floor(rand() * syllables.length)];
    vocabulary.push(word);
  }
  // Zipf-like: low indexes far more frequent, as in natural text.
  const word = (): string => vocabulary[Math.floor(vocabulary.length * rand() ** 3)] as string;
  const sentence = (n: number): string => {
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(word());
    const text = words.join(' ');
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  };
  const parts: string[] = [
    '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/><title>Catalogue</title>',
    '<link rel="stylesheet" href="/_next/static/css/app.css"/></head><body><main class="catalogue">',
  ];
  let size = parts.join('').length;
  let id = 1000;
  while (size < bytes) {
    id += 1 + Math.floor(rand() * 7);
    const price = (rand() * 500).toFixed(2);
    const item =
      `<article class="product-card" data-id="${id}"><a href="/products/${id}" class="product-link">` +
      `<img src="/images/${id}.webp" alt="${sentence(3)}" width="320" height="240" loading="lazy"/>` +
      `<h2 class="product-title">${sentence(4)}</h2></a><p class="product-description">${sentence(18)} ${sentence(12)}</p>` +
      `<div class="product-meta"><span class="price">$${price}</span><span class="stock">${Math.floor(rand() * 90)} in stock</span>` +
      `<button type="button" class="add-to-cart" data-product="${id}">Add to cart</button></div></article>`;
    parts.push(item);
    size += item.length;
  }
  parts.push('</main></body></html>');
  return `${parts.join('').slice(0, bytes - 14)}</body></html>`;
}
