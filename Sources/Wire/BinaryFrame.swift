/// The compact binary format, the fast path: one or many samples per message.
///
///     offset  size  field
///     0       1     magic 0xAD
///     1       1     version, 1
///     2       2     channels C, 1…1024               (uint16 little-endian)
///     4       4     sample count N, ≥ 1               (uint32 little-endian)
///     8       …     N × { timestamp_ms int64, C × value float64 }   (little-endian)
///
/// A timestamp of INT64_MIN means "none; stamp on receipt". The length must be exactly
/// `8 + N·(8 + 8·C)`. Values are read in place (unaligned loads), with no copy of the frame.
public enum BinaryFrame {
  public static let magic: UInt8 = 0xAD
  public static let version: UInt8 = 1
  public static let headerSize = 8

  static func decode(_ payload: UnsafeRawBufferPointer, into samples: inout DecodedSamples)
    throws(DecodeError)
  {
    guard payload.count >= headerSize else {
      throw .truncated(expected: headerSize, actual: payload.count)
    }
    guard payload[1] == version else { throw .unsupportedVersion(payload[1]) }
    let channels = Int(UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
    let count = Int(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    guard channels > 0 else { throw .syntax("binary frame with 0 channels") }
    guard channels <= DecodedSamples.maxChannels else { throw .tooManyChannels(channels) }
    guard count > 0 else { throw .syntax("binary frame with 0 samples") }
    let stride = 8 + 8 * channels
    let (body, overflow) = count.multipliedReportingOverflow(by: stride)
    guard !overflow, headerSize + body == payload.count else {
      throw .truncated(expected: overflow ? Int.max : headerSize + body, actual: payload.count)
    }
    samples.channels = channels
    samples.timestamps.reserveCapacity(count)
    samples.values.reserveCapacity(count * channels)
    var offset = headerSize
    for _ in 0..<count {
      samples.timestamps.append(Int64(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
      offset += 8
      for _ in 0..<channels {
        let bits = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        let value = Double(bitPattern: bits)
        try SampleLimits.check(value)
        samples.values.append(value)
        offset += 8
      }
    }
  }

  /// Encodes samples (`values` flat, `channels` per sample) into one frame.
  public static func encode(timestamps: [Int64], values: [Double], channels: Int) -> [UInt8] {
    precondition(channels > 0 && channels <= DecodedSamples.maxChannels)
    precondition(values.count == timestamps.count * channels && !timestamps.isEmpty)
    var out: [UInt8] = []
    out.reserveCapacity(headerSize + timestamps.count * (8 + 8 * channels))
    out.append(magic)
    out.append(version)
    appendLittleEndian(UInt16(channels), to: &out)
    appendLittleEndian(UInt32(timestamps.count), to: &out)
    for (i, ts) in timestamps.enumerated() {
      appendLittleEndian(UInt64(bitPattern: ts), to: &out)
      for c in 0..<channels { appendLittleEndian(values[i * channels + c].bitPattern, to: &out) }
    }
    return out
  }

  static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
  }
}
