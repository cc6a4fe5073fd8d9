/**
 * A binary min-heap of (due time, key) for delayed adds, ordered by due time and then by
 * insertion, as client-go's delaying queue keeps its `waitForPriorityQueue`.
 */

export interface DelayEntry {
  at: number;
  key: string;
  seq: number;
}

export class DelayHeap {
  private readonly items: DelayEntry[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(at: number, key: string): void {
    this.items.push({ at, key, seq: this.seq++ });
    this.up(this.items.length - 1);
  }

  peek(): DelayEntry | undefined {
    return this.items[0];
  }

  pop(): DelayEntry | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top && last && this.items.length > 0) {
      this.items[0] = last;
      this.down(0);
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }

  private less(a: DelayEntry, b: DelayEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(i: number): void {
    const items = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!, items[parent]!)) return;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const items = this.items;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && this.less(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && this.less(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) return;
      [items[i], items[smallest]] = [items[smallest]!, items[i]!];
      i = smallest;
    }
  }
}
