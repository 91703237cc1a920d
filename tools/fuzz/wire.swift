// libFuzzer entry for the sample decoders (text, JSON, binary). Built by tools/fuzz/run.sh.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var samples = DecodedSamples()
  do {
    try SampleDecoder.decode(UnsafeRawBufferPointer(start: data, count: size), into: &samples)
    // Whatever is accepted must be usable: finite values, a consistent shape.
    precondition(samples.channels > 0 && samples.values.count == samples.count * samples.channels)
    precondition(samples.values.allSatisfy { $0.isFinite && abs($0) <= SampleLimits.maxMagnitude })
  } catch {
    _ = error.reason
    _ = error.message
  }
  return 0
}
