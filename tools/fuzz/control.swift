// libFuzzer entry for the control protocol's request parser and reply decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControl(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  if let request = try? ControlRequest.parse(text) {
    // A parsed request must print back to a line that parses to the same request.
    precondition((try? ControlRequest.parse(request.line)) == request)
  }
  _ = ControlReply.decode(text)
  return 0
}
