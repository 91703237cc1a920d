/// Decodes a message payload in any of the three wire formats (see docs/protocol.md).
///
/// The format is told by the first byte: `0xAD` starts a binary frame (it can never start
/// UTF-8 text), `{` a JSON object, anything else a text line.
public enum SampleDecoder {
  public static func decode(_ payload: UnsafeRawBufferPointer, into samples: inout DecodedSamples)
    throws(DecodeError)
  {
    samples.removeAll()
    guard let first = payload.first else { throw .empty }
    switch first {
    case BinaryFrame.magic: try BinaryFrame.decode(payload, into: &samples)
    case UInt8(ascii: "{"): try JSONSample.decode(payload, into: &samples)
    default: try TextLine.decode(payload, into: &samples)
    }
  }

  /// Convenience for tests and tools.
  public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> DecodedSamples {
    var samples = DecodedSamples()
    let result: Result<Void, DecodeError> = bytes.withUnsafeBytes { raw in
      Result { () throws(DecodeError) in try decode(raw, into: &samples) }
    }
    try result.get()
    return samples
  }
}
