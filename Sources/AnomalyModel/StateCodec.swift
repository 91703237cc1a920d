/// Little-endian binary writing and reading for detector checkpoints.
///
/// A checkpoint must survive a restart exactly (bit-identical scores afterwards), so every
/// field is written at full precision, in a fixed order, behind a version number. Reading
/// never traps: a short, corrupted or hostile blob gives a `StateError`.
public struct StateWriter {
  public private(set) var bytes: [UInt8] = []

  public init() {}

  public mutating func write<T: FixedWidthInteger>(_ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  public mutating func write(_ value: Double) { write(value.bitPattern) }
  public mutating func write(_ value: Float) { write(value.bitPattern) }
  public mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }
  public mutating func write(_ value: Int) { write(Int64(value)) }

  public mutating func write(_ values: [Double]) {
    write(UInt32(values.count))
    for v in values { write(v) }
  }

  public mutating func write(_ values: [Float]) {
    write(UInt32(values.count))
    for v in values { write(v) }
  }

  public mutating func write(_ values: UnsafeBufferPointer<Float>) {
    write(UInt32(values.count))
    for v in values { write(v) }
  }
}

public enum StateError: Error, Equatable, Sendable, CustomStringConvertible {
  case truncated
  case badMagic
  case unsupportedVersion(UInt16)
  case checksumMismatch
  case invalid(String)

  public var description: String {
    switch self {
    case .truncated: "state blob is truncated"
    case .badMagic: "not a detector state blob"
    case .unsupportedVersion(let v): "detector state version \(v) is not supported"
    case .checksumMismatch: "detector state checksum mismatch (corrupted)"
    case .invalid(let what): "invalid detector state: \(what)"
    }
  }
}

public struct StateReader {
  let bytes: [UInt8]
  var offset: Int

  public init(_ bytes: [UInt8], offset: Int = 0) {
    self.bytes = bytes
    self.offset = offset
  }

  public var isAtEnd: Bool { offset == bytes.count }

  public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(StateError) -> T {
    let size = MemoryLayout<T>.size
    guard offset + size <= bytes.count else { throw .truncated }
    var value: T = 0
    for i in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
    offset += size
    return value
  }

  public mutating func readDouble() throws(StateError) -> Double { Double(bitPattern: try read(UInt64.self)) }
  public mutating func readFloat() throws(StateError) -> Float { Float(bitPattern: try read(UInt32.self)) }
  public mutating func readBool() throws(StateError) -> Bool { try read(UInt8.self) != 0 }

  public mutating func readInt() throws(StateError) -> Int {
    let value = try read(Int64.self)
    guard let int = Int(exactly: value) else { throw .invalid("integer out of range") }
    return int
  }

  /// The largest value a per-sample counter may have in a checkpoint: 2^61 below `Int.max`,
  /// so that 2^61 more increments (73,000 years at a million samples a second) still fit; the
  /// gate's "no event yet" starts at `Int.max / 2`. A corrupted or crafted checkpoint with a
  /// larger value is refused: accepting it would make the counter's next increment overflow,
  /// and trap, inside a worker (found by the state fuzzer).
  static let counterLimit = Int.max - (1 << 61)

  /// A counter that is incremented per sample: 0 … `counterLimit`.
  public mutating func readCounter() throws(StateError) -> Int {
    let value = try readInt()
    guard (0...StateReader.counterLimit).contains(value) else { throw .invalid("counter \(value) out of range") }
    return value
  }

  /// A count, bounded so that a corrupted length cannot ask for gigabytes.
  mutating func readCount(max: Int) throws(StateError) -> Int {
    let count = Int(try read(UInt32.self))
    guard count <= max else { throw .invalid("array of \(count) elements") }
    return count
  }

  public mutating func readDoubles(max: Int = 1 << 20) throws(StateError) -> [Double] {
    let count = try readCount(max: max)
    guard offset + count * 8 <= bytes.count else { throw .truncated }
    var result: [Double] = []
    result.reserveCapacity(count)
    for _ in 0..<count { result.append(try readDouble()) }
    return result
  }

  public mutating func readFloats(max: Int = 1 << 24) throws(StateError) -> [Float] {
    let count = try readCount(max: max)
    guard offset + count * 4 <= bytes.count else { throw .truncated }
    var result: [Float] = []
    result.reserveCapacity(count)
    for _ in 0..<count { result.append(try readFloat()) }
    return result
  }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), to detect corrupted checkpoints.
public enum CRC32 {
  static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }
}
