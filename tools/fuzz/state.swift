// libFuzzer entry for detector checkpoint blobs: decoding never traps, and a decoded detector
// can score. Inputs get a valid header and checksum half of the time, so the field parsers
// behind the CRC are reached too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzState(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let first = bytes.first, first & 1 == 1, bytes.count > 1 {
    let payload = Array(bytes.dropFirst())
    var w = StateWriter()
    for b in Array("ADST".utf8) { w.write(b) }
    w.write(StreamDetector.stateVersion)
    w.write(UInt32(payload.count))
    bytes = w.bytes + payload
    var crc = StateWriter()
    crc.write(CRC32.checksum(payload[...]))
    bytes += crc.bytes
  }
  if let detector = try? StreamDetector.decodeState(bytes) {
    let values = [Double](repeating: 1, count: detector.channels)
    _ = values.withUnsafeBufferPointer { detector.process($0, DetectorWorkspace()) }
  }
  return 0
}
