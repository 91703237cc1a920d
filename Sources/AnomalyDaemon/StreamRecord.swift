import AnomalyModel
import Foundation
import StateStore
import Wire

/// One stream's learned state as a self-describing JSON record, for `anomalyctl export` and
/// `import`: moving a stream between instances (scale-out) or keeping a copy.
///
///     {"format":"anomalyd-stream","version":1,"stream":"boiler.temp","samples":86400,
///      "anomalies":3,"next_sequence":3,"last_seen_ms":1700000000000,"state":"<base64>"}
///
/// `state` is the detector's own versioned, checksummed blob; `import` validates it fully
/// before anything is replaced.
enum StreamRecord {
  static let format = "anomalyd-stream"

  static func encode(_ row: CheckpointStore.Row) -> String {
    "{\"format\":\"\(format)\",\"version\":1,\"stream\":\(JSONText.quoted(row.id)),\"samples\":\(row.samples),"
      + "\"anomalies\":\(row.anomalies),\"next_sequence\":\(row.nextSequence),\"last_seen_ms\":\(row.lastSeenMs),"
      + "\"state\":\"\(Data(row.state).base64EncodedString())\"}"
  }

  static func decode(_ text: String) throws(DaemonError) -> CheckpointStore.Row {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
      throw DaemonError("import: the record is not a JSON object")
    }
    guard object["format"] as? String == format, (object["version"] as? NSNumber)?.intValue == 1 else {
      throw DaemonError("import: not an anomalyd stream record (format \(format), version 1)")
    }
    guard let id = object["stream"] as? String, !id.isEmpty,
      let samples = (object["samples"] as? NSNumber)?.uint64Value,
      let anomalies = (object["anomalies"] as? NSNumber)?.uint64Value,
      let sequence = (object["next_sequence"] as? NSNumber)?.uint64Value,
      let lastSeen = (object["last_seen_ms"] as? NSNumber)?.int64Value,
      let encoded = object["state"] as? String, let state = Data(base64Encoded: encoded)
    else { throw DaemonError("import: the record misses a field or has one of the wrong type") }
    let bytes = [UInt8](state)
    do {
      _ = try StreamDetector.decodeState(bytes)
    } catch {
      throw DaemonError("import: \(error)")
    }
    return CheckpointStore.Row(
      id: id, state: bytes, samples: samples, anomalies: anomalies, nextSequence: sequence, lastSeenMs: lastSeen)
  }
}
