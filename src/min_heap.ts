/**
 * A binary min-heap: O(log n) push and pop of the smallest item.
 * @module
 */

/** Items ordered by a number each one carries, smallest first. */
export class MinHeap<T> {
  #items: T[] = [];
  #rank: (item: T) => number;

  /** @param rank The number that orders an item; it must not change. */
  constructor(rank: (item: T) => number) {
    this.#rank = rank;
  }

  /** How many items the heap holds. */
  get length(): number {
    return this.#items.length;
  }

  /** The smallest item, left in place. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an item. */
  push(item: T): void {
    const items = this.#items;
    const rank = this.#rank(item);
    let index = items.length;
    items.push(item);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.#rank(items[parent]) <= rank) break;
      items[index] = items[parent];
      index = parent;
    }
    items[index] = item;
  }

  /** Removes and returns the smallest item. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    const rank = this.#rank(last);
    let index = 0;
    while (true) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length &&
          this.#rank(items[right]) < this.#rank(items[left])
        ? right
        : left;
      if (this.#rank(items[child]) >= rank) break;
      items[index] = items[child];
      index = child;
    }
    items[index] = last;
    return top;
  }

  /** Removes every item and returns them, in no particular order. */
  drain(): T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}
