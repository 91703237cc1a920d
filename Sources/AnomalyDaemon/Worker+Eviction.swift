import Logging
import StateStore

/// How a worker stays within its share of `ingest.max_streams`: the count, the CLOCK eviction, and
/// with `keep_evicted_state` the saving and resuming of evicted streams.
extension Worker {
  /// This worker's share of `ingest.max_streams`. Each worker keeps its own streams within
  /// its share and evicts (or refuses) among them, so no worker ever needs another's stream
  /// to make room; streams reach workers by a hash of their id, so the shares fill evenly.
  /// Each worker gets at least one.
  static func share(of max: Int, workers: Int, index: Int) -> Int {
    Swift.max(1, max / workers + (index < max % workers ? 1 : 0))
  }

  /// Counts one more stream if that stays within this worker's share of `max`.
  func reserveStreamSlot(max: Int) -> Bool {
    guard streamCount < Self.share(of: max, workers: workerCount, index: index) else { return false }
    streamCount += 1
    counters.streams.wrappingAdd(1, ordering: .relaxed)
    return true
  }

  /// Gives a stream that arrives whole (imported, or taken over in cluster mode) a place in
  /// the count and the clock, evicting another if the share is full; false if none can go.
  /// A stream already here keeps its place.
  func makeRoom(for id: String) -> Bool {
    guard streams[id] == nil else { return true }
    if reserveStreamSlot(max: settings.snapshot.maxStreams) {
      clockOrder.append(id)
    } else if let slot = evictOne() {
      clockOrder[slot] = id
    } else {
      return false
    }
    return true
  }

  /// Forgets the first stream the clock finds not used since its last pass; returns the
  /// clock slot it occupied, or nil if this worker has no stream to give up.
  func evictOne() -> Int? {
    guard !clockOrder.isEmpty else { return nil }
    while true {
      if clockHand >= clockOrder.count { clockHand = 0 }
      let id = clockOrder[clockHand]
      guard let stream = streams[id] else {
        // A slot whose stream is gone is free already.
        let slot = clockHand
        clockHand += 1
        return slot
      }
      if stream.referenced {
        stream.referenced = false
        clockHand += 1
        continue
      }
      // The new stream takes over the evicted one's place in the count as well.
      let changedSinceSave = stream.isDirty || !stream.isSaved
      unmarkDirty(stream)
      closeAlert(stream)
      streams[id] = nil
      counters.streamsEvicted.add(1)
      if savedStates != nil {
        if changedSinceSave { saveEvicted(stream) }
      } else if stream.isSaved {
        checkpoints?.push([.delete(id, fence: fence(for: id))])
      }
      RateLimitedLog.shared.note(
        "stream_evicted", logger,
        "stream \(id) forgotten to make room (ingest.max_streams reached, least recently used)")
      let slot = clockHand
      clockHand += 1
      return slot
    }
  }

  /// Queues an evicted stream's state for the state file (`keep_evicted_state`) and keeps it
  /// at hand until the checkpoint writer has surely caught up. The queue is bounded (it counts
  /// only these rows): a writer too far behind means the row is dropped, and counted.
  func saveEvicted(_ stream: StreamState) {
    let saved = row(for: stream)
    if checkpoints?.tryPush([.save(saved, fence: fence(for: saved.id))], weight: 1) != true {
      counters.evictedStatesDropped.add(1)
    }
    if recentlyEvictedOrder.count < Self.recentlyEvictedLimit {
      recentlyEvictedOrder.append(saved.id)
    } else {
      recentlyEvicted[recentlyEvictedOrder[recentlyEvictedNext]] = nil
      recentlyEvictedOrder[recentlyEvictedNext] = saved.id
      recentlyEvictedNext = (recentlyEvictedNext + 1) % Self.recentlyEvictedLimit
    }
    recentlyEvicted[saved.id] = saved
  }

  /// The saved state of an evicted stream whose id came back, if there is one.
  func resumeEvicted(_ id: String) -> StreamState? {
    guard let savedStates else { return nil }
    let saved: CheckpointStore.Row?
    if let recent = recentlyEvicted.removeValue(forKey: id) {
      saved = recent
    } else {
      do {
        saved = try savedStates.load(id: id)
      } catch {
        RateLimitedLog.shared.note(
          "resume_lookup", logger, "cannot look up the saved state of stream \(id), it starts fresh: \(error)")
        saved = nil
      }
    }
    guard let saved, let state = try? Self.streamState(from: saved) else { return nil }
    counters.streamsResumed.add(1)
    return state
  }
}
