import Foundation

/// A bounded multi-producer queue whose consumer can wait, used to hand work between threads.
///
/// Capacity is counted in caller-given weights (samples, not batches), so a full queue means a
/// bounded amount of memory. `tryPush` never blocks: an overloaded worker makes ingest drop —
/// and count — rather than stall the sockets and let libzmq drop silently.
final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
  // All mutable state is guarded by `condition`.
  private let condition = NSCondition()
  private var items: [(Element, Int)] = []
  private var head = 0
  private var weight = 0
  let capacity: Int

  init(capacity: Int) {
    self.capacity = capacity
  }

  /// Appends unless that would exceed the capacity; returns whether it was queued.
  func tryPush(_ element: Element, weight w: Int) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    guard weight + w <= capacity || weight == 0 else { return false }
    append(element, w)
    return true
  }

  /// Appends regardless of capacity (small control messages that must not be lost).
  func push(_ element: Element) {
    condition.lock()
    defer { condition.unlock() }
    append(element, 0)
  }

  private func append(_ element: Element, _ w: Int) {
    items.append((element, w))
    weight += w
    condition.signal()
  }

  /// Waits up to `timeout` seconds for an element.
  func pop(timeout: TimeInterval) -> Element? {
    condition.lock()
    defer { condition.unlock() }
    if head == items.count {
      _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
      if head == items.count { return nil }
    }
    let (element, w) = items[head]
    head += 1
    weight -= w
    if head == items.count {
      items.removeAll(keepingCapacity: true)
      head = 0
    } else if head >= 1024 && head * 2 >= items.count {
      items.removeFirst(head)
      head = 0
    }
    return element
  }

  /// The queued weight (samples waiting).
  var depth: Int {
    condition.lock()
    defer { condition.unlock() }
    return weight
  }
}
