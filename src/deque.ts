/**
 * A double-ended queue on a growable ring buffer. The pool keeps its job
 * queue and its idle workers here: every operation is O(1) amortised,
 * where `Array#shift` would copy the whole array on each call.
 * @module
 */

const INITIAL_CAPACITY = 16;

/** A FIFO/LIFO queue with O(1) pushes and pops at both ends. */
export class Deque<T> {
  // Capacity is always a power of two, so `& this.#mask` wraps an index.
  #items: (T | undefined)[] = new Array(INITIAL_CAPACITY);
  #mask = INITIAL_CAPACITY - 1;
  #head = 0;
  #length = 0;

  /** How many items the deque holds. */
  get length(): number {
    return this.#length;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Removes and returns the front item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    // Clear the slot so a consumed item can be garbage-collected.
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes and returns the back item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const index = (this.#head + this.#length) & this.#mask;
    const item = this.#items[index];
    this.#items[index] = undefined;
    return item;
  }

  /** The item `index` places from the front, without removing it. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[(this.#head + index) & this.#mask];
  }

  /** Removes every item and returns them, front first. */
  drain(): T[] {
    const items: T[] = [];
    while (this.#length > 0) items.push(this.shift() as T);
    return items;
  }

  #grow(): void {
    const items: (T | undefined)[] = new Array(this.#items.length * 2);
    for (let i = 0; i < this.#length; i++) {
      items[i] = this.#items[(this.#head + i) & this.#mask];
    }
    this.#items = items;
    this.#mask = items.length - 1;
    this.#head = 0;
  }
}
