// A small seeded PRNG, so fuzz failures and benchmark data reproduce from the seed: the one the
// spam evaluation uses for its training order (mulberry32), under the name tests know it by.
export { seededRandom as prng } from '../../src/filter/eval/random.js';
