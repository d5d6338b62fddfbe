/** A bounded buffer, oldest first: pushing onto a full ring overwrites the oldest item. */
export class Ring<T> {
  private readonly items: T[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
    }
  }

  /** The i-th item, 0 the oldest. */
  at(i: number): T {
    return this.items[(this.head + i) % this.items.length]!;
  }

  last(): T | undefined {
    return this.items.length === 0 ? undefined : this.at(this.items.length - 1);
  }

  toArray(from = 0): T[] {
    const out: T[] = [];
    for (let i = Math.max(0, from); i < this.items.length; i++) out.push(this.at(i));
    return out;
  }
}
