/// Samples decoded from one message, in a buffer the ingest loop reuses.
///
/// Values are stored flat, sample after sample, `channels` values each. A timestamp of
/// `DecodedSamples.noTimestamp` means the message carried none and the receiver stamps it.
public struct DecodedSamples: Sendable {
  public static let noTimestamp = Int64.min
  /// The largest channel count a sample may have.
  public static let maxChannels = 1024

  public internal(set) var channels = 0
  public internal(set) var timestamps: [Int64] = []
  public internal(set) var values: [Double] = []

  public init() {}

  public var count: Int { timestamps.count }

  public mutating func removeAll() {
    channels = 0
    timestamps.removeAll(keepingCapacity: true)
    values.removeAll(keepingCapacity: true)
  }

  /// The values of sample `index`.
  public func sample(_ index: Int) -> ArraySlice<Double> {
    values[(index * channels)..<((index + 1) * channels)]
  }
}

/// Why a message was rejected. `reason` is the stable label used in counters and logs.
public enum DecodeError: Error, Equatable, Sendable {
  case empty
  case invalidUTF8
  case syntax(String)
  case nonFinite
  case outOfRange
  case tooManyChannels(Int)
  case badTimestamp(String)
  case unsupportedVersion(UInt8)
  case truncated(expected: Int, actual: Int)

  /// The counter label for this kind of rejection.
  public var reason: String {
    switch self {
    case .empty: "empty"
    case .invalidUTF8: "invalid_utf8"
    case .syntax: "syntax"
    case .nonFinite: "non_finite"
    case .outOfRange: "out_of_range"
    case .tooManyChannels: "too_many_channels"
    case .badTimestamp: "bad_timestamp"
    case .unsupportedVersion: "unsupported_version"
    case .truncated: "truncated"
    }
  }

  /// A human-readable explanation for logs and `anomalyctl` errors.
  public var message: String {
    switch self {
    case .empty: "empty payload"
    case .invalidUTF8: "text payload is not valid UTF-8"
    case .syntax(let detail): "syntax error: \(detail)"
    case .nonFinite: "value is NaN or infinite"
    case .outOfRange: "value magnitude above \(SampleLimits.maxMagnitude)"
    case .tooManyChannels(let n): "\(n) channels, at most \(DecodedSamples.maxChannels) allowed"
    case .badTimestamp(let text): "unparseable timestamp '\(text)'"
    case .unsupportedVersion(let v): "binary frame version \(v) is not supported (expected 1)"
    case .truncated(let expected, let actual):
      "binary frame length \(actual) does not match its header (expected \(expected))"
    }
  }
}

/// Limits that every decoder enforces on values.
public enum SampleLimits {
  /// Readings larger in magnitude are rejected: their squares would overflow the statistics.
  public static let maxMagnitude = 1e100

  @inlinable static func check(_ value: Double) throws(DecodeError) {
    guard value.isFinite else { throw .nonFinite }
    guard abs(value) <= maxMagnitude else { throw .outOfRange }
  }
}
