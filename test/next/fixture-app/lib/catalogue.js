// A large, realistic page (issue 20: compression): product cards with varied text, deterministic.
export function products(count, seed = 1) {
  let state = seed >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const syllables = ['ka', 'lo', 'mi', 'ra', 'te', 'su', 'no', 'vi', 'pe', 'dra', 'mon', 'til', 'ber', 'gos'];
  const vocabulary = [];
  for (let i = 0; i < 3000; i++) {
    let word = '';
    const n = 1 + Math.floor(rand() * 4);
    for (let j = 0; j < n; j++) word += syllables[Math.floor(rand() * syllables.length)];
    vocabulary.push(word);
  }
  const sentence = (n) => {
    const words = [];
    for (let i = 0; i < n; i++) words.push(vocabulary[Math.floor(vocabulary.length * rand() ** 3)]);
    const text = words.join(' ');
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  };
  const out = [];
  let id = 1000;
  for (let i = 0; i < count; i++) {
    id += 1 + Math.floor(rand() * 7);
    out.push({
      id,
      title: sentence(4),
      alt: sentence(3),
      description: `${sentence(18)} ${sentence(12)}`,
      price: (rand() * 500).toFixed(2),
      stock: Math.floor(rand() * 90),
    });
  }
  return out;
}
